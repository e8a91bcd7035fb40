"""`lorapilot tagpilot crop`: aspect + focus, box, several images with a bar, reset, and clear bad-input errors."""

import subprocess
import sys

import pytest
from click.testing import CliRunner
from PIL import Image

from lorapilot.cli import cli
from lorapilot.kit.errors import LorapilotError
from support.tagpilot import write_image


@pytest.fixture
def run(ctx):
    runner = CliRunner()

    def invoke(*args, ok=True):
        result = runner.invoke(cli, [*args, "--workspace", str(ctx.workspace.root)], catch_exceptions=True)
        if ok:
            assert result.exit_code == 0, (result.output, result.exception)
        return result

    return invoke


@pytest.fixture
def folder(run, ctx):
    run("tagpilot", "create", "set")
    folder = ctx.workspace.datasets / "set"
    write_image(folder / "wide.png", (600, 400), (10, 200, 10))
    write_image(folder / "tall.png", (300, 500), (10, 10, 200))
    return folder


def size(path) -> tuple[int, int]:
    with Image.open(path) as img:
        return img.size


def test_crop_focus_box_several_and_reset(run, folder):
    original = (folder / "wide.png").read_bytes()
    out = run("tagpilot", "crop", "set", "wide.png", "--aspect", "1:1", "--focus", "0.4,0.3").output
    assert "wide.png: cropped to 400×400 at 40,0 of the 600×400 original (aspect 1:1, focus 0.4,0.3)" in out
    assert size(folder / "wide.png") == (400, 400)
    out = run("tagpilot", "crop", "set", "wide.png", "--box", "100,50,200,300").output
    assert "cropped to 200×300 at 100,50 of the 600×400 original" in out
    out = run("tagpilot", "crop", "set", "wide.png", "tall.png", "--aspect", "16:9").output
    assert "2 cropped to 16:9, 0 failed" in out
    assert size(folder / "wide.png") == (600, 338) and size(folder / "tall.png") == (300, 169)
    assert "original restored (600×400)" in run("tagpilot", "crop", "set", "wide.png", "--reset").output
    assert (folder / "wide.png").read_bytes() == original


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--aspect", "7:5"], "aspect '7:5' is not a preset"),
        (["--aspect", "1:1", "--focus", "2,0.5"], "focus x = 2.0 is outside 0..1"),
        (["--box", "0,0,601,10"], "box 0,0,601,10 is outside the image (600×400)"),
        (["--reset"], "'wide.png' of dataset 'set' is not cropped"),
    ],
)
def test_bad_input_names_the_value(run, folder, args, message):
    result = run("tagpilot", "crop", "set", "wide.png", *args, ok=False)
    assert result.exit_code != 0 and isinstance(result.exception, LorapilotError)
    assert message in str(result.exception)
    assert size(folder / "wide.png") == (600, 400)


def test_a_malformed_number_list_names_the_option(ctx, folder):
    cmd = [sys.executable, "-m", "lorapilot", "tagpilot", "crop", "set", "wide.png", "--focus", "0.5"]
    result = subprocess.run([*cmd, "--workspace", str(ctx.workspace.root)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "Invalid value for --focus: '0.5' is not X,Y (fractions 0..1)" in result.stderr
