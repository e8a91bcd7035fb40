"""A LoRA TrainPilot finished, as the model store sees it: its hashes are known at once (no "hash" task before
AutoV2 shows), and its training card (``<name>.training.json``) is one of its sidecars: it follows a rename or a
move, goes to the trash with it and comes back on restore."""

from __future__ import annotations

import json

from lorapilot.tools.models.store import ModelStore
from lorapilot.tools.trainpilot.finish import install_lora
from lorapilot.tools.trainpilot.queue import Job
from support.trainpilot import write_safetensors
from support.workspaces import make_workspace

LORA_KEYS = {
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight": [4, 768],
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight": [320, 4],
}


def _finished_lora(ctx, tmp_path):
    final = write_safetensors(tmp_path / "run" / "output" / "mycat.safetensors", LORA_KEYS)
    job = Job(
        id=1,
        name="mycat",
        trainer="native",
        family="sd15",
        dataset="cats",
        profile_name=None,
        profile={"model": {"base": "checkpoints/sd15.safetensors"}},
        state="done",
        position=1.0,
        run_dir=str(tmp_path / "run"),
        step=10,
    )
    return install_lora(ctx.workspace, job, final)


def test_the_card_follows_its_lora_through_rename_move_delete_and_restore(tmp_path):
    ctx = make_workspace(tmp_path / "ws", enabled=set())
    lora, card = _finished_lora(ctx, tmp_path)
    assert card == ctx.workspace.models / "loras" / "mycat.training.json"
    store = ModelStore.for_context(ctx)

    renamed = store.rename("loras/mycat.safetensors", "mycat-v1")
    assert renamed.name == "mycat-v1.safetensors"
    assert (renamed.parent / "mycat-v1.training.json").is_file() and not card.exists()

    moved = store.move("loras/mycat-v1.safetensors", "checkpoints")
    assert (moved.parent / "mycat-v1.training.json").is_file()
    assert json.loads((moved.parent / "mycat-v1.training.json").read_text())["job_id"] == 1

    items = store.delete("checkpoints/mycat-v1.safetensors")
    assert {i.original for i in items} == {
        "models/checkpoints/mycat-v1.safetensors",
        "models/checkpoints/mycat-v1.training.json",
    }
    assert not any(moved.parent.iterdir())
    store.restore(items[0].id)  # the LoRA; its card comes back with it
    assert moved.is_file() and (moved.parent / "mycat-v1.training.json").is_file()


def test_the_store_knows_the_hashes_of_a_lora_trainpilot_installed(tmp_path):
    ctx = make_workspace(tmp_path / "ws", enabled=set())
    lora, card = _finished_lora(ctx, tmp_path)
    digest = json.loads(card.read_text())["sha256"]
    store = ModelStore.for_context(ctx)
    entry = next(e for e in store.list(folder="loras") if e.name == lora.name)
    assert (entry.kind, entry.sha256, entry.autov2) == ("lora", digest, digest[:10])
    assert entry.addnet is not None  # the additional-networks hash of a LoRA, as A1111 shows it
    assert store.list(folder="loras")[0].sha256 == digest  # and on every later listing


def test_a_chroma_lora_with_flux_shaped_keys_lists_as_chroma_by_its_training_card(tmp_path):
    """Diffusion Pipe's Chroma LoRAs carry FLUX.1 attention keys and no metadata: only the card can tell."""
    from lorapilot.tools.models.inspect import inspect_file
    from support.model_files import kohya_lora_flux, write_model

    ctx = make_workspace(tmp_path / "ws")
    flux_shaped = write_model(tmp_path / "run" / "output" / "adapter.safetensors", kohya_lora_flux())
    job = Job(
        id=2,
        name="mychroma",
        trainer="diffusion-pipe",
        family="chroma",
        dataset="cats",
        profile_name=None,
        profile={"model": {"base": "diffusion_models/chroma.safetensors"}},
        state="done",
        position=1.0,
        run_dir=str(tmp_path / "run"),
        step=10,
    )
    trained, card = install_lora(ctx.workspace, job, flux_shaped)
    assert json.loads(card.read_text())["base_family"] == "chroma"  # the store's name, beside TrainPilot's
    plain = write_model(ctx.workspace.models / "loras" / "someflux.safetensors", kohya_lora_flux())

    families = {e.name: (e.family, e.family_label) for e in ModelStore.for_context(ctx).list(folder="loras")}
    assert families == {trained.name: ("chroma", "Chroma"), plain.name: ("flux1", "FLUX.1")}
    assert inspect_file(trained)["summary"]["family"] == "chroma"
    assert inspect_file(plain)["summary"]["family"] == "flux1"
