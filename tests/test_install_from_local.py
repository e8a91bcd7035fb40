"""`lorapilot install NAME --from PATH`: the pinned source from a local archive or folder, checked, never half-installed.

The archives are built here (tar.gz and zip of a small tree); the component's
source section records their sha256 and top folder as the real components do.
"""

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import threading
import zipfile

import pytest
import tomli_w

from lorapilot.kit.archive import UnsafeArchiveError
from lorapilot.kit.errors import ConflictError
from lorapilot.kit.progress import Cancelled
from lorapilot.stack.component_paths import load_manifest
from lorapilot.stack.components import load_registry
from lorapilot.stack.context import Context
from lorapilot.stack.install import install, prepare_install
from lorapilot.stack.install import local as local_mod
from lorapilot.stack.install.local import SourceMismatchError
from lorapilot.stack.workspace.layout import Workspace
from support.workspaces import free_port

APP_REV = "a" * 40
SUB_REV = "b" * 40
APP_TREE = {"main.py": b"print('pinned')\n", "tools/run.sh": b"#!/bin/sh\necho hi\n"}
SUB_TREE = {"lib.py": b"VALUE = 'submodule'\n"}


def _tar(path, top: str, files: dict[str, bytes], extra: list[tarfile.TarInfo] = ()) -> str:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            info.mode = 0o755 if name.endswith(".sh") else 0o644
            tf.addfile(info, io.BytesIO(data))
        for info in extra:
            tf.addfile(info)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _zip(path, top: str, files: dict[str, bytes]) -> str:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(f"{top}/{name}", data)
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def pinned(tmp_path):
    """A component 'demo' pinned to archives built here: app-<rev>.tar.gz and a zip of its submodule."""
    archives = tmp_path / "vendor"
    archives.mkdir()
    app_sha = _tar(archives / "app.tar.gz", "app", APP_TREE)
    sub_sha = _zip(archives / "sub.zip", "sub", SUB_TREE)
    components = tmp_path / "components"
    (components / "demo").mkdir(parents=True)
    source = {
        "type": "git",
        "url": "https://example.invalid/app",
        "rev": APP_REV,
        "archive": {"sha256": app_sha, "top": "app"},
        "submodules": {
            "vendor/sub": {
                "url": "https://example.invalid/sub",
                "rev": SUB_REV,
                "archive": {"sha256": sub_sha, "top": "sub"},
            }
        },
    }
    (components / "demo" / "component.toml").write_text(
        tomli_w.dumps(
            {
                "name": "demo",
                "title": "Demo",
                "description": "test component",
                "category": "dev",
                "port": free_port(),
                "run": {"command": ["{python}", "main.py"], "cwd": "{src}"},
                "source": source,
            }
        )
    )
    ctx = Context(workspace=Workspace(tmp_path / "ws"), manifest=load_manifest(None), components_dir=components)
    return {"ctx": ctx, "archives": archives, "components": components, "app_sha": app_sha}


def _state(ctx):
    return ctx.workspace.state_dir("demo")


def _assert_nothing_installed(ctx):
    state = _state(ctx)
    assert not (state / "src").exists()
    assert [p.name for p in state.iterdir() if p.name.startswith(".src")] == []  # no staging folder left


def _install(ctx, *froms, cancel=None):
    return install(ctx, "demo", prepared=prepare_install(ctx, "demo", froms, source_only=True), cancel=cancel)


def test_a_good_archive_installs_the_tree_with_its_submodule(pinned):
    ctx, archives = pinned["ctx"], pinned["archives"]
    result = _install(ctx, str(archives / "app.tar.gz"), f"vendor/sub={archives / 'sub.zip'}")
    src = _state(ctx) / "src"
    assert result.src == src
    assert (src / "main.py").read_text() == "print('pinned')\n"
    assert (src / "vendor" / "sub" / "lib.py").read_text() == "VALUE = 'submodule'\n"
    assert os.access(src / "tools" / "run.sh", os.X_OK)  # the executable bit survives
    record = json.loads((src / local_mod.MARKER).read_text())
    assert record["rev"] == APP_REV and record["from"]["main"]["sha256"] == pinned["app_sha"]
    assert json.loads((_state(ctx) / "install.json").read_text())["source"]["rev"] == APP_REV
    # No git was needed; the plan sees the source installed where `lorapilot up` looks.
    assert {p.name: p for p in ctx.plan(False)}["demo"].cwd == src
    # A rerun with the same archive keeps the tree (and what the user added to it).
    (src / "notes.txt").write_text("mine")
    again = _install(ctx, str(archives / "app.tar.gz"), f"vendor/sub={archives / 'sub.zip'}")
    assert again.done[0].startswith("kept ") and (src / "notes.txt").read_text() == "mine"


def test_a_missing_submodule_archive_is_named_in_the_result(pinned):
    result = _install(pinned["ctx"], str(pinned["archives"] / "app.tar.gz"))
    assert "submodule vendor/sub not installed: no --from vendor/sub=PATH given" in result.done


def test_a_wrong_hash_is_refused_naming_the_file_and_both_hashes(pinned):
    ctx, archives = pinned["ctx"], pinned["archives"]
    other = archives / "other.tar.gz"
    other_sha = _tar(other, "app", {**APP_TREE, "main.py": b"print('tampered')\n"})
    with pytest.raises(SourceMismatchError) as err:
        _install(ctx, str(other))
    assert str(other) in str(err.value) and other_sha in str(err.value) and pinned["app_sha"] in str(err.value)
    _assert_nothing_installed(ctx)


def test_a_wrong_top_folder_is_refused(pinned):
    ctx, archives = pinned["ctx"], pinned["archives"]
    wrong = archives / "wrong-top.tar.gz"
    sha = _tar(wrong, "something-else", APP_TREE)
    # Record that archive's hash, so only the top folder is wrong.
    toml = pinned["components"] / "demo" / "component.toml"
    toml.write_text(toml.read_text().replace(pinned["app_sha"], sha))
    ctx = Context(workspace=ctx.workspace, manifest=ctx.manifest, components_dir=pinned["components"])
    with pytest.raises(SourceMismatchError, match=r"expected the tree under 'app/', found something-else/"):
        _install(ctx, str(wrong))
    _assert_nothing_installed(ctx)


def test_a_hostile_archive_with_the_recorded_hash_is_still_refused(pinned):
    ctx, archives = pinned["ctx"], pinned["archives"]
    evil = archives / "evil.tar.gz"
    link = tarfile.TarInfo("app/escape")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    sha = _tar(evil, "app", APP_TREE, extra=[link])
    toml = pinned["components"] / "demo" / "component.toml"
    toml.write_text(toml.read_text().replace(pinned["app_sha"], sha))
    ctx = Context(workspace=ctx.workspace, manifest=ctx.manifest, components_dir=pinned["components"])
    with pytest.raises(UnsafeArchiveError, match="'app/escape': links are not allowed"):
        _install(ctx, str(evil))
    _assert_nothing_installed(ctx)


def test_a_folder_source_is_copied_and_a_checkout_at_another_rev_refused(pinned, tmp_path):
    ctx = pinned["ctx"]
    folder = tmp_path / "copy"
    for name, data in APP_TREE.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    result = _install(ctx, str(folder))
    assert (_state(ctx) / "src" / "main.py").read_text() == "print('pinned')\n"
    assert (
        json.loads((_state(ctx) / "src" / local_mod.MARKER).read_text())["from"]["main"]["verified"] == "not verifiable"
    )
    assert result.src == _state(ctx) / "src"

    checkout = tmp_path / "checkout"
    checkout.mkdir()
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    (checkout / "main.py").write_text("print('other')\n")
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "x"]):
        subprocess.run(["git", "-C", str(checkout), *args], check=True, env=env)
    other_ws = Context(
        workspace=Workspace(tmp_path / "ws2"), manifest=ctx.manifest, components_dir=pinned["components"]
    )
    with pytest.raises(SourceMismatchError, match=r"a git checkout at [0-9a-f]{12}, not aaaaaaaaaaaa"):
        _install(other_ws, str(checkout))
    _assert_nothing_installed(other_ws)


def test_a_folder_with_a_link_out_of_the_tree_is_refused(pinned, tmp_path):
    folder = tmp_path / "linked"
    (folder / "docs").mkdir(parents=True)
    (folder / "main.py").write_text("print('pinned')\n")
    (folder / "docs" / "readme").symlink_to("../main.py")  # inside: fine
    (folder / "secrets").symlink_to("/etc")
    with pytest.raises(UnsafeArchiveError, match=r"secrets: a link to /etc, outside"):
        _install(pinned["ctx"], str(folder))
    _assert_nothing_installed(pinned["ctx"])
    (folder / "secrets").unlink()
    _install(pinned["ctx"], str(folder))
    assert (_state(pinned["ctx"]) / "src" / "docs" / "readme").read_text() == "print('pinned')\n"


def test_an_interrupted_install_leaves_nothing(pinned, monkeypatch):
    ctx, archives = pinned["ctx"], pinned["archives"]
    cancel = threading.Event()
    real_place = local_mod._place

    def place_then_cancel(*args, **kwargs):
        record = real_place(*args, **kwargs)
        cancel.set()  # after the main tree was extracted, before its submodule
        return record

    monkeypatch.setattr(local_mod, "_place", place_then_cancel)
    with pytest.raises(Cancelled):
        _install(ctx, str(archives / "app.tar.gz"), f"vendor/sub={archives / 'sub.zip'}", cancel=cancel)
    _assert_nothing_installed(ctx)


def test_an_existing_tree_is_never_replaced(pinned):
    ctx, archives = pinned["ctx"], pinned["archives"]
    src = _state(ctx) / "src"
    src.mkdir(parents=True)
    (src / "work.py").write_text("mine")
    with pytest.raises(ConflictError, match="already exists; move it away"):
        _install(ctx, str(archives / "app.tar.gz"))
    assert (src / "work.py").read_text() == "mine"


def test_the_cli_installs_from_an_archive_and_refuses_a_mismatch(pinned, tmp_path):
    env = {**os.environ, "LORAPILOT_COMPONENTS": str(pinned["components"])}
    ws = tmp_path / "cli-ws"
    archives = pinned["archives"]
    cmd = [sys.executable, "-m", "lorapilot", "install", "demo", "--source-only", "--workspace", str(ws)]
    bad = subprocess.run([*cmd, "--from", str(archives / "sub.zip")], capture_output=True, text=True, env=env)
    assert bad.returncode == 1 and "does not match" in bad.stderr and str(archives / "sub.zip") in bad.stderr
    ok = subprocess.run(
        [*cmd, "--from", str(archives / "app.tar.gz"), "--from", f"vendor/sub={archives / 'sub.zip'}"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert ok.returncode == 0, ok.stderr
    assert f"installed {ws / 'apps' / 'demo' / 'src'} at aaaaaaaaaaaa from" in ok.stdout


def test_every_recorded_archive_pin_is_well_formed():
    """The real components: each git pin with an archive names a sha256 and a top folder (the schema checks both)."""
    registry = load_registry()
    pinned = [c.name for c in registry if c.spec.source.archive is not None]
    assert {"comfyui", "kohya", "ai-toolkit"} <= set(pinned)
    assert registry.get("kohya").spec.source.submodules["sd-scripts"].archive.top == "kohya-sd-scripts"
