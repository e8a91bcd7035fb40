"""Managing MediaPilot's extra roots: the in-place settings edit, path checks, index upkeep, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib

import pytest

from lorapilot.kit.errors import ConfigError, ConflictError, LorapilotError, NotFoundError
from lorapilot.stack.settings import SETTINGS_TEMPLATE, load_settings
from lorapilot.tools.mediapilot.library import MediaLibrary
from lorapilot.tools.mediapilot.roots import add_root, list_roots, remove_root
from lorapilot.tools.mediapilot.tomledit import set_string_array
from support import media_files as mf
from support.media_lib import make_library, row_by_name

COMMENTED = """\
# my settings: keep this comment
host = "127.0.0.1"  # loopback only

[mediapilot]
# renders from the big disk
extra_roots = [
    "/mnt/a",  # first volume
    "/mnt/b]x",
]
watch = false   # I scan by hand

[manager]
port = 7999
"""


def test_settings_edit_keeps_comments_and_other_keys(tmp_path):
    path = tmp_path / "lorapilot.toml"
    path.write_text(COMMENTED)
    set_string_array(path, "mediapilot", "extra_roots", ["/mnt/a", "/mnt/b]x", '/srv/new "q"'])
    text = path.read_text()
    assert text == COMMENTED.replace(
        'extra_roots = [\n    "/mnt/a",  # first volume\n    "/mnt/b]x",\n]',
        'extra_roots = ["/mnt/a", "/mnt/b]x", "/srv/new \\"q\\""]',
    )
    data = tomllib.loads(text)
    assert data["mediapilot"] == {"extra_roots": ["/mnt/a", "/mnt/b]x", '/srv/new "q"'], "watch": False}
    assert data["manager"] == {"port": 7999} and data["host"] == "127.0.0.1"


def test_settings_edit_appends_a_media_table_to_the_template(tmp_path):
    path = tmp_path / "lorapilot.toml"
    path.write_text(SETTINGS_TEMPLATE)
    set_string_array(path, "mediapilot", "extra_roots", ["/data/renders"])
    text = path.read_text()
    assert text.startswith(SETTINGS_TEMPLATE)  # every commented example is still there
    assert text[len(SETTINGS_TEMPLATE) :] == '\n[mediapilot]\nextra_roots = ["/data/renders"]\n'
    assert load_settings(path).mediapilot.extra_roots == ["/data/renders"]
    # A table without the key gets it as its last line; the rest stays.
    fresh = tmp_path / "new-ws" / "config" / "lorapilot.toml"  # no config/ yet
    set_string_array(fresh, "mediapilot", "extra_roots", ["/r"])
    assert fresh.read_text() == '[mediapilot]\nextra_roots = ["/r"]\n'
    path.write_text("[mediapilot]\nwatch = false\n")
    set_string_array(path, "mediapilot", "extra_roots", [])
    assert path.read_text() == "[mediapilot]\nwatch = false\nextra_roots = []\n"


def test_settings_edit_rewrites_dotted_keys_and_inline_tables_and_refuses_the_rest(tmp_path):
    # The hand-written scanner refused these two layouts; tomlkit edits them in their own form.
    path = tmp_path / "lorapilot.toml"
    path.write_text("mediapilot.watch = false  # dotted key at the top\n")
    set_string_array(path, "mediapilot", "extra_roots", ["/x"])
    assert path.read_text() == 'mediapilot.watch = false  # dotted key at the top\nmediapilot.extra_roots = ["/x"]\n'
    path.write_text("mediapilot = {watch = false}\n")
    set_string_array(path, "mediapilot", "extra_roots", ["/x"])
    assert tomllib.loads(path.read_text()) == {"mediapilot": {"watch": False, "extra_roots": ["/x"]}}
    original = "[[mediapilot]]\nwatch = false\n"  # an array of tables: not a place for the key
    path.write_text(original)
    with pytest.raises(ConfigError) as err:
        set_string_array(path, "mediapilot", "extra_roots", ["/x"])
    assert str(path) in str(err.value) and 'extra_roots = ["/x"]' in str(err.value)
    assert path.read_text() == original  # nothing written
    path.write_text("[media\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        set_string_array(path, "mediapilot", "extra_roots", ["/x"])


def test_new_roots_are_checked_with_errors_naming_the_value(tmp_path):
    ctx, lib = make_library(tmp_path)
    ws = ctx.workspace
    a_file = tmp_path / "file.png"
    a_file.write_bytes(b"x")
    (ws.outputs / "sub").mkdir(parents=True)
    (ws.root / ".trash").mkdir(exist_ok=True)
    cases = [
        (str(tmp_path / "nope"), LorapilotError, "no such folder"),
        (str(a_file), LorapilotError, "not a folder"),
        ("relative/dir", LorapilotError, "absolute path"),
        (str(ws.outputs / "sub"), ConflictError, "inside the root 'outputs'"),
        (str(ws.outputs), ConflictError, "already indexed as root 'outputs'"),
        (str(ws.root), ConflictError, "contains the root 'outputs'"),
        (str(ws.config), LorapilotError, "config/"),
        (str(ws.root / ".trash"), LorapilotError, "trash"),
        ("", LorapilotError, "empty"),
    ]
    for value, kind, why in cases:
        with pytest.raises(kind) as err:
            add_root(lib, value)
        assert why in str(err.value), (value, str(err.value))
        if value:
            assert repr(value) in str(err.value)
    assert load_settings(ws.settings_file).mediapilot.extra_roots == []  # nothing was written
    lib.close()


def test_add_scan_remove_and_favourites_come_back(tmp_path):
    ctx, lib = make_library(tmp_path)
    renders = tmp_path / "renders"
    mf.png(renders / "a.png")
    mf.png(renders / "deep" / "b.png")
    mf.png(ctx.workspace.outputs / "o.png")
    running = MediaLibrary.open(ctx)  # another process's library (ControlPilot) opened before the change

    root = add_root(lib, str(renders))
    assert root["path"] == str(renders) and root["files"] == 0 and root["reachable"]
    assert load_settings(ctx.workspace.settings_file).mediapilot.extra_roots == [str(renders)]
    assert str(renders) in [str(r.path) for r in running.roots()]  # follows the settings file
    with pytest.raises(ConflictError, match="already indexed"):
        add_root(lib, str(renders) + "/")
    nested = renders / "deep"
    with pytest.raises(ConflictError, match=f"inside the root '{renders}'"):
        add_root(lib, str(nested))

    lib.scan()
    listing = {r["label"]: r for r in list_roots(lib)}
    assert listing["outputs"]["files"] == 1 and listing[str(renders)]["files"] == 2
    assert listing["outputs"]["removable"] is False and listing[str(renders)]["removable"] is True

    from lorapilot.tools.mediapilot.organise import set_favourite, tag

    a = row_by_name(lib, "a.png")["id"]
    set_favourite(lib, [a], True)
    tag(lib, [a], ["keeper", "blue"], [])

    with pytest.raises(LorapilotError, match="always indexed"):
        remove_root(lib, "outputs")
    with pytest.raises(NotFoundError, match="'/elsewhere' is not an extra root"):
        remove_root(lib, "/elsewhere")
    assert remove_root(lib, str(renders) + "/") == {"removed": str(renders), "unindexed": 2}
    assert lib.index.read().execute("SELECT count(*) FROM media WHERE name IN ('a.png', 'b.png')").fetchone()[0] == 0
    assert load_settings(ctx.workspace.settings_file).mediapilot.extra_roots == []
    assert renders.joinpath("a.png").exists()  # the files stay on disk
    assert [r["label"] for r in list_roots(running)] == ["outputs"]

    add_root(lib, str(renders))
    lib.scan()
    again = row_by_name(lib, "a.png")
    assert again["fav"] == 1
    tags = [
        r[0]
        for r in lib.index.read().execute("SELECT tag FROM media_tag WHERE media_id = ? ORDER BY tag", (again["id"],))
    ]
    assert tags == ["blue", "keeper"]
    assert row_by_name(lib, "b.png")["fav"] == 0
    assert lib.index.read().execute("SELECT count(*) FROM media_kept").fetchone()[0] == 0
    running.close()
    lib.close()


def test_an_unmounted_root_is_listed_unreachable_and_can_be_removed(tmp_path):
    ctx, lib = make_library(tmp_path)
    volume = tmp_path / "volume"
    mf.png(volume / "v.png")
    add_root(lib, str(volume))
    lib.scan()
    (volume / "v.png").rename(tmp_path / "v.png")
    volume.rmdir()
    entry = next(r for r in list_roots(lib) if r["label"] == str(volume))
    assert entry["reachable"] is False and entry["files"] == 1  # kept while unmounted
    assert remove_root(lib, str(volume))["unindexed"] == 1
    lib.close()


def lp(ctx, *args):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "lorapilot",
            "media",
            "roots",
            *args,  # old name `media`
            "--workspace",
            str(ctx.workspace.root),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_roots_cli(tmp_path):
    ctx, lib = make_library(tmp_path)
    lib.close()
    ctx.workspace.settings_file.write_text("# mine\n[manager]\nport = 7001\n")
    renders = tmp_path / "renders"
    mf.png(renders / "r.png")

    added = lp(ctx, "add", str(renders))
    assert added.returncode == 0, added.stderr
    assert f"added media root {renders}" in added.stdout and "1 files: 1 added" in added.stdout
    assert ctx.workspace.settings_file.read_text() == (
        f'# mine\n[manager]\nport = 7001\n\n[mediapilot]\nextra_roots = ["{renders}"]\n'
    )

    listing = lp(ctx, "list")
    assert listing.returncode == 0
    lines = listing.stdout.splitlines()
    assert lines[0].startswith("outputs\t") and lines[0].endswith("\t0 file(s)\treachable")
    assert lines[1] == f"{renders}\t{renders}\t1 file(s)\treachable"
    as_json = json.loads(lp(ctx, "list", "--json").stdout)
    assert [r["files"] for r in as_json] == [0, 1]

    bad = lp(ctx, "add", str(tmp_path / "missing"))
    assert bad.returncode == 1 and bad.stderr.strip() == f"error: media root '{tmp_path / 'missing'}': no such folder"

    removed = lp(ctx, "remove", str(renders))
    assert removed.returncode == 0 and f"removed media root {renders} (1 file(s) left the index)" in removed.stdout
    assert len(lp(ctx, "list").stdout.splitlines()) == 1
    gone = lp(ctx, "remove", str(renders))
    assert gone.returncode == 1 and "is not an extra root" in gone.stderr


@pytest.mark.timeout(60)
def test_a_running_watcher_picks_up_an_added_root_and_lets_go_of_a_removed_one(tmp_path):
    """The root is added by another library (the CLI beside a running ControlPilot)."""
    import time

    from lorapilot.tools.mediapilot.watch import Watcher

    ctx, served = make_library(tmp_path)
    renders = tmp_path / "renders"
    renders.mkdir()
    watcher = Watcher(served, roots_check_s=0.5).start()
    conn = served.index.reader()

    def names():
        return {r[0] for r in conn.execute("SELECT name FROM media")}

    def wait_for(check):
        deadline = time.monotonic() + 20
        while not check():
            assert time.monotonic() < deadline, names()
            time.sleep(0.05)

    cli = MediaLibrary.open(ctx)
    try:
        add_root(cli, str(renders))
        wait_for(lambda: str(renders) in [str(r.path) for r in watcher.lib.roots()])
        time.sleep(1.0)  # the watch restarts on the new set of roots
        mf.png(renders / "fresh.png")
        wait_for(lambda: "fresh.png" in names())
        remove_root(cli, str(renders))
        wait_for(lambda: "fresh.png" not in names())
        time.sleep(1.0)
        mf.png(renders / "ignored.png")
        mf.png(ctx.workspace.outputs / "kept.png")
        wait_for(lambda: "kept.png" in names())
        assert "ignored.png" not in names() and watcher.error is None
    finally:
        watcher.stop()
        cli.close()
        served.close()


def test_a_library_opened_from_an_older_context_reads_the_current_roots(tmp_path):
    """ControlPilot's context caches its settings at start; a root added since must still be seen."""
    ctx, lib = make_library(tmp_path)
    assert ctx.settings.mediapilot.extra_roots == []  # cached now
    renders = tmp_path / "renders"
    renders.mkdir()
    add_root(lib, str(renders))
    late = MediaLibrary.open(ctx)
    assert [r.label for r in late.roots()] == ["outputs", str(renders)]
    late.close()
    lib.close()
