"""The component manifest Nix writes (LORAPILOT_MANIFEST): read as written, and a bad one named clearly."""

import json
import sys
from pathlib import Path

import pytest

from lorapilot.kit.errors import ConfigError
from lorapilot.stack.component_paths import MANIFEST_ENV, load_manifest


def test_the_manifest_named_by_the_environment_gives_each_component_its_paths(tmp_path, monkeypatch):
    path = tmp_path / "manifest.json"
    path.write_text(
        json.dumps(
            {
                "lorapilot_python": "/nix/store/aaa-lorapilot-env/bin/python",
                "components": {
                    "comfyui": {"env": "/nix/store/bbb-comfyui-env", "src": "/nix/store/ccc-comfyui-src"},
                    "lorapilot-train": {"env": "/nix/store/ddd-lorapilot-train-env"},
                },
            }
        )
    )
    monkeypatch.setenv(MANIFEST_ENV, str(path))
    manifest = load_manifest()
    assert manifest.path == path
    assert manifest.lorapilot_python == Path("/nix/store/aaa-lorapilot-env/bin/python")
    assert manifest.location("comfyui").env == Path("/nix/store/bbb-comfyui-env")
    assert manifest.location("comfyui").src == Path("/nix/store/ccc-comfyui-src")
    assert manifest.location("lorapilot-train").src is None
    # A component the manifest does not name falls back to the workspace (apps/<name>).
    assert manifest.location("kohya").env is None and manifest.location("kohya").src is None


def test_without_a_manifest_the_running_interpreter_is_lorapilots(monkeypatch):
    monkeypatch.delenv(MANIFEST_ENV, raising=False)
    manifest = load_manifest()
    assert manifest.components == {} and manifest.lorapilot_python == Path(sys.executable)


@pytest.mark.parametrize(
    "content,expected",
    [
        (None, "component manifest not found (set by LORAPILOT_MANIFEST)"),
        ("{not json", "component manifest is not valid JSON"),
        ('{"components": []}', "components: expected an object of {name: {env, src}}"),
        (
            '{"components": {"comfyui": {"env": "/x", "python": "/y"}}}',
            "components.comfyui: expected an object with 'env'",
        ),
        ('{"components": {"comfyui": "/x"}}', "components.comfyui: expected an object with 'env'"),
    ],
    ids=["missing", "not-json", "components-not-object", "unknown-key", "entry-not-object"],
)
def test_a_bad_manifest_names_the_file_and_the_field(tmp_path, content, expected):
    path = tmp_path / "manifest.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_manifest(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert expected in str(caught.value)
