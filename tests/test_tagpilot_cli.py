"""`lorapilot tagpilot ...` drives the same library: import, tags, preview/apply, undo, autocaption, check, export."""

import io
import json
import subprocess
import sys
import zipfile

import pytest
from click.testing import CliRunner

from lorapilot.cli import cli
from lorapilot.kit.errors import LorapilotError
from support.tagpilot import build_wd14_model, make_dataset_files, write_image


@pytest.fixture
def run(ctx):
    runner = CliRunner()

    def invoke(*args, ok=True):
        result = runner.invoke(cli, [*args, "--workspace", str(ctx.workspace.root)], catch_exceptions=True)
        if ok:
            assert result.exit_code == 0, (result.output, result.exception)
        return result

    return invoke


def test_import_tags_op_preview_apply_undo(run, ctx, tmp_path):
    source = tmp_path / "src"
    make_dataset_files(source, {"a.png": "cat, solo", "b.png": "cat, shirt, white shirt"})
    assert "imported 2 images, 2 captions" in run("tagpilot", "import", "pets", str(source), "--create").output
    assert "pets" in run("tagpilot", "list").output
    tags = run("tagpilot", "tags", "pets").output.splitlines()
    assert tags[0].split() == ["2", "cat"]

    preview = run("tagpilot", "op", "pets", "add", "--tag", "ohwx", "-q", "tag:solo").output
    assert "-cat, solo\n+ohwx, cat, solo" in preview
    assert "preview only: add --apply to write" in preview
    assert (ctx.workspace.datasets / "pets" / "a.txt").read_text() == "cat, solo"
    applied = run("tagpilot", "op", "pets", "consolidate", "--apply").output
    assert "applied (history entry 1" in applied
    assert (ctx.workspace.datasets / "pets" / "b.txt").read_text() == "cat, white shirt"
    assert "consolidate tags" in run("tagpilot", "history", "pets").output
    assert "undid #1" in run("tagpilot", "undo", "pets").output
    assert (ctx.workspace.datasets / "pets" / "b.txt").read_text() == "cat, shirt, white shirt"
    stats = json.loads(run("tagpilot", "stats", "pets", "--json").output)
    assert stats["images"] == 2 and stats["captioned"] == 2


def test_caption_set_and_images_query(run, ctx):
    run("tagpilot", "create", "d")
    write_image(ctx.workspace.datasets / "d" / "x.png", (300, 200))
    run("tagpilot", "caption", "d", "x.png", "--set", "hello, world")
    assert run("tagpilot", "caption", "d", "x.png").output.strip() == "hello, world"
    assert "x.png\t300x200\thello, world" in run("tagpilot", "images", "d", "-q", "width>=300").output
    assert run("tagpilot", "images", "d", "-q", "height>=300").output == ""


def test_errors_are_one_clear_line(ctx):
    cmd = [
        sys.executable,
        "-m",
        "lorapilot",
        "dataset",
        "create",
        "../escape",
        "--workspace",
        str(ctx.workspace.root),
    ]  # old name: still works
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("error: dataset name '../escape'") and "Traceback" not in result.stderr


def test_hostile_zip_import_is_refused(run, ctx, tmp_path):
    run("tagpilot", "create", "z")
    archive = tmp_path / "bad.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("../../x.png", b"x")
    archive.write_bytes(buffer.getvalue())
    result = run("tagpilot", "import", "z", str(archive), ok=False)
    assert isinstance(result.exception, LorapilotError) and "escapes" in str(result.exception)
    assert sorted(p.name for p in (ctx.workspace.datasets / "z").iterdir() if not p.name.startswith(".")) == []


def test_autocaption_check_and_export(run, ctx, tmp_path):
    model = build_wd14_model(tmp_path / "wd14")
    run("tagpilot", "create", "w")
    write_image(ctx.workspace.datasets / "w" / "r.png", (64, 64), (255, 0, 0))
    (ctx.workspace.datasets / "w" / "r2.png").write_bytes((ctx.workspace.datasets / "w" / "r.png").read_bytes())
    out = run("tagpilot", "autocaption", "w", "--captioner", "wd14", "--model-dir", str(model), "--mcut").output
    assert "2 written" in out
    assert (ctx.workspace.datasets / "w" / "r.txt").read_text() == "hatsune miku, red theme, excluded tag, ^_^"
    check = run("tagpilot", "check", "w", "--only", "exact_duplicates", "--action", "exclude").output
    assert "exact_duplicates  r.png, r2.png" in check and "exclude: 1 images" in check
    export = run("tagpilot", "export", "w", "--repeats", "4", "--trigger", "ohwx").output
    assert "kohya_dataset_toml" in export and "lack the trigger word 'ohwx'" in export
    handoff = json.loads((ctx.workspace.datasets / "w" / ".tagpilot" / "handoff.json").read_text())
    assert handoff["num_images"] == 1 and handoff["repeats"] == 4


def test_help_does_not_import_heavy_modules():
    code = "import sys; from lorapilot.cli import main; main(['dataset', '--help']);"
    code += "print(sorted(m for m in ('numpy', 'PIL', 'onnxruntime', 'torch', 'httpx') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip().endswith("[]"), result.stdout
