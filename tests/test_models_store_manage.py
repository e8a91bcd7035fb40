"""Move, rename, delete to the trash and restore; extra roots; paths stay in the store."""

import pytest

from lorapilot.kit.errors import ConflictError, LorapilotError
from lorapilot.kit.safepath import PathEscapeError
from lorapilot.tools.models.store import ModelStore
from support import model_files as mf
from support.workspaces import make_workspace


@pytest.fixture
def store(tmp_path):
    extra = tmp_path / "network-volume"
    ctx = make_workspace(tmp_path / "ws", settings={"models": {"extra_roots": [str(extra)]}})
    mf.write_model(ctx.workspace.models / "checkpoints" / "style.safetensors", mf.kohya_lora_sd1())
    (ctx.workspace.models / "checkpoints" / "style.preview.png").write_bytes(b"png")
    mf.write_model(extra / "checkpoints" / "base.safetensors", mf.sdxl_checkpoint())
    return ModelStore.for_context(ctx)


def test_lists_every_root_with_the_type_mismatch_flagged(store, tmp_path):
    entries = {e.name: e for e in store.list()}
    assert entries["base.safetensors"].root == str(tmp_path / "network-volume")
    assert entries["base.safetensors"].family == "sdxl" and entries["base.safetensors"].warning is None
    assert "belongs in loras/" in entries["style.safetensors"].warning
    assert [e.name for e in store.list(family="sdxl")] == ["base.safetensors"]
    assert [e.name for e in store.list(folder="loras")] == []


def test_move_carries_sidecars_and_cached_hashes(store, monkeypatch):
    before = store.hash(store.ws.models / "checkpoints" / "style.safetensors")
    dest = store.move("checkpoints/style.safetensors", "loras")
    assert dest == store.ws.models / "loras" / "style.safetensors"
    assert (store.ws.models / "loras" / "style.preview.png").read_bytes() == b"png"
    assert not (store.ws.models / "checkpoints" / "style.preview.png").exists()
    from lorapilot.tools.models import store as store_module

    monkeypatch.setattr(store_module, "hash_file", lambda *a, **k: (_ for _ in ()).throw(AssertionError("rehashed")))
    assert store.hash(dest) == before
    assert store.list(folder="loras")[0].warning is None


def test_rename_keeps_suffix_and_refuses_overwrite(store):
    dest = store.rename("checkpoints/style.safetensors", "pixel")
    assert dest.name == "pixel.safetensors" and (dest.parent / "pixel.preview.png").exists()
    mf.write_model(store.ws.models / "checkpoints" / "other.safetensors", mf.clip_l())
    with pytest.raises(ConflictError):
        store.rename("checkpoints/other.safetensors", "pixel.safetensors")
    with pytest.raises(PathEscapeError):
        store.rename("checkpoints/other.safetensors", "../escape.safetensors")
    with pytest.raises(LorapilotError, match="must end in"):
        store.rename("checkpoints/other.safetensors", "other.exe")


def test_delete_goes_to_the_workspace_trash_and_restore_brings_the_sidecars_back(store):
    from lorapilot.kit.trash import Trash

    original = (store.ws.models / "checkpoints" / "style.safetensors").read_bytes()
    items = store.delete("checkpoints/style.safetensors")
    assert [i.name for i in items] == ["style.safetensors", "style.preview.png"]
    assert not (store.ws.models / "checkpoints" / "style.safetensors").exists()
    # The workspace trash, so `lorapilot trash list` shows it and `lorapilot trash empty` frees the space.
    assert {i.original for i in Trash(store.ws.root).list()} == {
        "models/checkpoints/style.safetensors",
        "models/checkpoints/style.preview.png",
    }
    # One row per model, paths as in the store, its sidecars named.
    (row,) = store.trash_items()
    assert (row["id"], row["original"], row["root"], row["sidecars"]) == (
        items[0].id,
        "checkpoints/style.safetensors",
        str(store.ws.models),
        ["style.preview.png"],
    )
    store.restore(items[0].id)
    assert (store.ws.models / "checkpoints" / "style.safetensors").read_bytes() == original
    assert (store.ws.models / "checkpoints" / "style.preview.png").read_bytes() == b"png"
    assert store.trash_items() == [] and Trash(store.ws.root).list() == []


def test_delete_in_an_extra_root_uses_that_roots_trash(store, tmp_path):
    extra = tmp_path / "network-volume"
    items = store.delete(str(extra / "checkpoints" / "base.safetensors"))
    assert (extra / ".trash" / items[0].id).is_dir()
    store.restore(items[0].id)
    assert (extra / "checkpoints" / "base.safetensors").exists()


def test_paths_outside_the_store_are_refused(store, tmp_path):
    outside = tmp_path / "secret.safetensors"
    outside.write_bytes(b"x")
    with pytest.raises(PathEscapeError):
        store.delete(str(outside))
    with pytest.raises(PathEscapeError):
        store.move("../config/secrets.env", "loras")
    with pytest.raises(LorapilotError, match="unknown model type"):
        store.move("checkpoints/style.safetensors", "nope")


def test_extra_roots_must_be_absolute(tmp_path):
    from lorapilot.kit.errors import ConfigError
    from lorapilot.stack.settings import load_settings

    path = tmp_path / "lorapilot.toml"
    path.write_text('[models]\nextra_roots = ["relative/models"]\n')
    with pytest.raises(
        ConfigError, match=r"lorapilot.toml: models.extra_roots: .*'relative/models' must be an absolute path"
    ):
        load_settings(path)


def test_a_models_folder_linked_to_another_volume_keeps_its_own_trash(tmp_path):
    from lorapilot.stack.workspace import init_workspace

    ctx = make_workspace(tmp_path / "ws")
    volume = tmp_path / "volume" / "models"
    volume.mkdir(parents=True)
    ctx.workspace.models.symlink_to(volume, target_is_directory=True)  # a link outside the workspace
    init_workspace(ctx)
    mf.write_model(volume / "loras" / "x.safetensors", mf.kohya_lora_sd1())
    store = ModelStore.for_context(ctx)
    (item,) = store.delete("loras/x.safetensors")
    assert (volume / ".trash" / item.id / "x.safetensors").is_file()
    assert [i["original"] for i in store.trash_items()] == ["loras/x.safetensors"]
    store.restore(item.id)
    assert (volume / "loras" / "x.safetensors").is_file()
