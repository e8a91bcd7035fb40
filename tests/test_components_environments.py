"""components/<name>/environment.toml: pinned environments that are not services."""

import pytest

from lorapilot.kit.errors import ConfigError
from lorapilot.stack.components import load_registry
from lorapilot.stack.components.environments import load_environments


def test_diffusion_pipe_is_an_environment_not_a_service():
    environments = load_environments()
    spec, path = environments["diffusion-pipe"]
    assert path.name == "environment.toml" and spec.kind == "trainer"
    assert spec.source.rev == "a7e7decf4325c1f03e4b88b7de93640029abd011"
    assert spec.source.submodules["submodules/ComfyUI"].url == "https://github.com/comfyanonymous/ComfyUI"
    assert (path.parent / "uv.lock").is_file()
    assert "diffusion-pipe" not in load_registry().names()


def test_a_bad_environment_file_names_the_file_and_field(tmp_path):
    folder = tmp_path / "trainer"
    folder.mkdir()
    (folder / "environment.toml").write_text(
        'name = "trainer"\ntitle = "T"\ndescription = "d"\nkind = "trainer"\n'
        '[source]\ntype = "git"\nurl = "https://example.invalid/x"\nrev = "abc"\n'
    )
    with pytest.raises(ConfigError) as info:
        load_environments(tmp_path)
    assert str(folder / "environment.toml") in str(info.value)
    assert "rev" in str(info.value)


def test_the_folder_name_must_match(tmp_path):
    folder = tmp_path / "other"
    folder.mkdir()
    (folder / "environment.toml").write_text(
        'name = "trainer"\ntitle = "T"\ndescription = "d"\nkind = "trainer"\n[source]\ntype = "builtin"\n'
    )
    with pytest.raises(ConfigError, match="must match its folder name 'other'"):
        load_environments(tmp_path)
