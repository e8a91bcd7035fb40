"""One name per tool (CLI group, ``/api/<name>``, ``[name]`` settings section, ``/<name>`` page), and the
old names (``dataset``/``/api/datasets``, ``train``/``/api/train``, ``media``/``/api/media``/``[media]``)
still working for one release."""

from __future__ import annotations

import warnings

import pytest
from click.testing import CliRunner
from fastapi.routing import APIRoute

from lorapilot.cli import cli
from lorapilot.controlpilot.app import create_app
from lorapilot.kit.errors import ConfigError
from lorapilot.stack.settings import load_settings
from lorapilot.tools import TOOLS
from lorapilot.tools.mediapilot.roots import add_root
from support.api import make_anonymous_client, make_client
from support.media_lib import make_library

OLD_TO_NEW_GETS = [
    ("/api/datasets", "/api/tagpilot/datasets"),
    ("/api/train/presets", "/api/trainpilot/presets"),
    ("/api/media/stats", "/api/mediapilot/stats"),
]


def test_every_tool_route_lives_under_its_tool_name(ctx):
    app = create_app(ctx)
    for each in TOOLS:
        paths = [r.path for r in each.load_router().routes if isinstance(r, APIRoute)]
        assert paths, each.name
        assert all(p.startswith(f"/api/{each.name}") for p in paths), (each.name, paths)
    schema_paths = list(app.openapi()["paths"])
    for old, _ in each_alias():
        assert not any(p == old or p.startswith(old + "/") for p in schema_paths), old  # not advertised


def each_alias():
    return [pair for each in TOOLS for pair in each.url_aliases]


def test_old_tool_urls_answer_like_the_new_ones_with_a_deprecation_header(ctx):
    client = make_client(ctx)
    assert client.post("/api/datasets", json={"name": "cats"}).status_code == 201  # old URL, a write
    for old, new in OLD_TO_NEW_GETS:
        fresh, aliased = client.get(new), client.get(old)
        assert fresh.status_code == aliased.status_code == 200, (old, aliased.text)
        assert aliased.json() == fresh.json()
        assert aliased.headers["deprecation"] == "true" and "deprecation" not in fresh.headers
        assert aliased.headers["link"] == f'<{new}>; rel="successor-version"'
    assert client.get("/api/datasets/cats/images").json()["total"] == 0  # a deeper old path
    assert client.get("/api/datasets/nope").status_code == 404  # errors are the new URL's
    assert client.get("/api/medianot").status_code == 404  # only whole path segments are rewritten
    anonymous = make_anonymous_client(ctx)
    assert anonymous.get("/api/datasets").status_code == 401  # the old URL is no way around login


def test_old_cli_names_still_work_but_are_not_listed():
    runner = CliRunner()
    listing = runner.invoke(cli, ["--help"]).output
    for each in TOOLS:
        assert f"  {each.name} " in listing
        for alias in each.cli_aliases:
            assert f"  {alias} " not in listing
            old = runner.invoke(cli, [alias, "--help"])
            assert old.exit_code == 0 and old.output == runner.invoke(cli, [each.name, "--help"]).output.replace(
                f"cli {each.name} ", f"cli {alias} "
            )


def test_the_old_media_settings_section_is_read_with_a_note(tmp_path):
    path = tmp_path / "lorapilot.toml"
    path.write_text("[media]\nwatch = false\ntrash_keep_days = 3\n")
    with pytest.warns(FutureWarning, match=r"\[media\] is now called \[mediapilot\]") as caught:
        settings = load_settings(path)
    assert str(path) in str(caught[0].message)
    assert settings.mediapilot.watch is False and settings.mediapilot.trash_keep_days == 3
    assert settings.deprecations == [
        "[media] is now called [mediapilot]; rename the section (the old name is read until the next release)"
    ]
    path.write_text("[mediapilot]\nwatch = false\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new name gives no note
        assert load_settings(path).deprecations == []


def test_both_media_sections_at_once_is_an_error_naming_both(tmp_path):
    path = tmp_path / "lorapilot.toml"
    path.write_text("[media]\nwatch = false\n\n[mediapilot]\nwatch = true\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert str(path) in str(err.value) and "[media] and [mediapilot]" in str(err.value)


def test_adding_a_root_edits_the_old_media_section_where_the_file_uses_it(tmp_path):
    ctx, lib = make_library(tmp_path)
    ctx.workspace.settings_file.write_text("[media]\nwatch = false\n")
    renders = tmp_path / "renders"
    renders.mkdir()
    try:
        with pytest.warns(FutureWarning):
            add_root(lib, str(renders))
    finally:
        lib.close()
    assert ctx.workspace.settings_file.read_text() == f'[media]\nwatch = false\nextra_roots = ["{renders}"]\n'
