"""Every family × preset, rendered by every trainer that supports it, checked against the keys the
upstream trainer really reads (key sets extracted from the pinned sources into tests/data)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml

from lorapilot.tools.trainpilot.adapters import ADAPTERS, RunSpec, TrainerLocation
from lorapilot.tools.trainpilot.families import FAMILIES, QUALITIES, VRAM_TIERS
from lorapilot.tools.trainpilot.native.config import load_config
from lorapilot.tools.trainpilot.presets import build_profile
from lorapilot.tools.trainpilot.profiles import ModelRef
from support.trainer_schemas import (
    ai_toolkit_problems,
    diffusion_pipe_problems,
    kohya_dataset_problems,
    kohya_run_problems,
)
from support.trainpilot import load_upstream

COMBOS = [
    (trainer, family, quality, vram)
    for trainer, adapter in ADAPTERS.items()
    for family in FAMILIES
    if family in adapter.families
    for quality in QUALITIES
    for vram in VRAM_TIERS
    if vram in FAMILIES[family].max_resolution and not adapter.fit_issues(family, vram_gb=vram)
]


def _model_ref(trainer: str, family: str) -> ModelRef:
    if family == "qwenimage":
        return ModelRef(base="diffusers/qwenimage")
    if family == "wan22":  # AI Toolkit reads the -Diffusers folder, Diffusion Pipe the official one
        return ModelRef(base="diffusers/wan22" if trainer == "ai-toolkit" else "wan/Wan2.2-T2V-A14B")
    if family in ("flux2", "zimage") and trainer == "diffusion-pipe":
        return ModelRef(
            base=f"diffusion_models/{'flux2-dev' if family == 'flux2' else 'z_image_turbo_bf16'}.safetensors",
            vae=f"vae/{'flux2-vae' if family == 'flux2' else 'ae'}.safetensors",
            llm=f"text_encoders/{'mistral_3_small_flux2_fp8' if family == 'flux2' else 'qwen_3_4b'}.safetensors",
        )
    if family == "flux2":
        return ModelRef(base="diffusion_models/flux2-dev.safetensors", vae="vae/flux2-vae.safetensors")
    if family == "zimage":
        return ModelRef(base="diffusers/zimage")
    if family == "chroma":
        return ModelRef(
            base="diffusion_models/chroma-unlocked-v50.safetensors",
            diffusers="diffusers/flux1" if trainer == "diffusion-pipe" else None,
        )
    if family == "lumina2" and trainer == "diffusion-pipe":
        return ModelRef(
            base="diffusion_models/lumina_2_model_bf16.safetensors",
            llm="text_encoders/gemma_2_2b_fp16.safetensors",
            vae="vae/flux_vae.safetensors",
        )
    if family == "wan21":  # Diffusion Pipe reads the official folder, AI Toolkit the -Diffusers one
        return ModelRef(base="diffusers/wan21" if trainer == "ai-toolkit" else "wan/Wan2.1-T2V-14B")
    if family == "hunyuanvideo":
        return ModelRef(
            base="diffusion_models/hunyuan_video_720_cfgdistill_fp8_e4m3fn.safetensors",
            vae="vae/hunyuan_video_vae_bf16.safetensors",
            llm="text_encoders/llava-llama-3-8b-text-encoder-tokenizer",
            clip_l="text_encoders/clip-vit-large-patch14",
        )
    if family == "ltxvideo":
        return ModelRef(base="checkpoints/ltx-video-2b-v0.9.1.safetensors", diffusers="diffusers/LTX-Video")
    if family == "hidream":
        return ModelRef(
            base="diffusers/hidream",
            llm="text_encoders/Meta-Llama-3.1-8B-Instruct" if trainer == "diffusion-pipe" else None,
        )
    if family in ("flux1", "sd3", "lumina2") and trainer in ("ai-toolkit", "diffusion-pipe", "native"):
        return ModelRef(base=f"diffusers/{family}")
    if family == "flux1":
        return ModelRef(
            base="diffusion_models/flux1-dev.safetensors",
            clip_l="text_encoders/clip_l.safetensors",
            t5xxl="text_encoders/t5xxl_fp16.safetensors",
            ae="vae/ae.safetensors",
        )
    return ModelRef(
        base=f"checkpoints/{family}.safetensors", vae="vae/sdxl_vae.safetensors" if family == "sdxl" else None
    )


def _spec(tmp_path: Path, trainer: str, family: str, quality: str, vram: int, resume: bool = False) -> RunSpec:
    profile = build_profile(
        name=f"lora-{family}",
        family=family,
        quality=quality,
        vram_gb=vram,
        model=_model_ref(trainer, family),
        dataset_name="cats",
        trainer=trainer,
        trigger_word="mycat",
    )
    (tmp_path / "models" / "diffusers" / family).mkdir(parents=True, exist_ok=True)
    return RunSpec(
        profile=profile,
        run_dir=tmp_path / "run",
        models_dir=tmp_path / "models",
        image_dir=tmp_path / "cats",
        location=TrainerLocation(env=tmp_path / "env", src=tmp_path / "src"),
        resume=resume,
        tensorboard_root=tmp_path / "tb",
    )


def test_every_supported_combination_is_covered():
    trainers = {c[0] for c in COMBOS}
    assert trainers == {"kohya", "ai-toolkit", "diffusion-pipe", "native"}
    assert {c[1] for c in COMBOS if c[0] == "kohya"} == {"sd15", "sd2", "sdxl", "sd3", "flux1"}
    assert {c[1] for c in COMBOS if c[0] == "ai-toolkit"} == {
        "sd15",
        "sd2",
        "sdxl",
        "sd3",
        "flux1",
        "chroma",
        "wan21",
        "lumina2",
        "hidream",
        "qwenimage",
        "wan22",
        "flux2",
        "zimage",
    }
    assert {c[1] for c in COMBOS if c[0] == "diffusion-pipe"} == {
        "sdxl",
        "sd3",
        "flux1",
        "chroma",
        "wan21",
        "lumina2",
        "hidream",
        "hunyuanvideo",
        "ltxvideo",
        "qwenimage",
        "wan22",
        "flux2",
        "zimage",
    }
    assert {c[3] for c in COMBOS if c[1] == "hidream"} == {24, 48}
    assert {c[3] for c in COMBOS if c[1] in ("qwenimage", "flux2")} == {24, 48}
    assert {c[1] for c in COMBOS if c[0] == "native"} == {"sd15", "sd2", "sdxl", "flux1"}
    assert {c[3] for c in COMBOS if c[:2] == ("native", "flux1")} == {48}  # bf16, no fp8: 48+ GB only
    assert len(COMBOS) > 150


@pytest.mark.parametrize("trainer,family,quality,vram", COMBOS)
def test_rendered_config_uses_only_keys_the_trainer_reads(tmp_path, trainer, family, quality, vram):
    spec = _spec(tmp_path, trainer, family, quality, vram)
    adapter = ADAPTERS[trainer]
    files = adapter.render(spec)
    if trainer == "kohya":
        from lorapilot.tools.trainpilot.adapters.kohya import SCRIPTS

        run = tomllib.loads(files["run.toml"])
        assert kohya_run_problems(SCRIPTS[family], run) == []
        assert kohya_dataset_problems(tomllib.loads(files["dataset.toml"])) == []
        assert run["training"]["max_train_steps"] == spec.profile.training.steps
        assert run["network"]["network_alpha"] == spec.profile.network.alpha
    elif trainer == "ai-toolkit":
        job = yaml.safe_load(files["job.yaml"])
        assert ai_toolkit_problems(job) == []
        assert job["config"]["process"][0]["train"]["steps"] == spec.profile.training.steps
    elif trainer == "diffusion-pipe":
        main, dataset = tomllib.loads(files["main.toml"]), tomllib.loads(files["dataset.toml"])
        assert diffusion_pipe_problems(main, dataset) == []
        assert main["max_steps"] == spec.profile.training.steps
    else:
        spec.run_dir.mkdir(parents=True)
        (spec.run_dir / "run.toml").write_text(files["run.toml"])
        native = load_config(spec.run_dir / "run.toml")  # the native trainer's own model accepts it
        assert native.training.steps == spec.profile.training.steps
        assert native.network.alpha == spec.profile.network.alpha


def test_key_facts_were_extracted_from_real_sources():
    kohya = load_upstream("kohya_args.json")
    assert kohya["source"].endswith("3e6935a07edcb944407840ef74fcaf6fcad352f7")
    flux = kohya["scripts"]["flux_train_network"]
    assert {"clip_l", "t5xxl", "ae", "blocks_to_swap", "discrete_flow_shift"} <= set(flux)
    assert flux["mixed_precision"]["choices"] == ["no", "fp16", "bf16"]
    aitk = load_upstream("ai_toolkit.json")
    assert "sd_trainer" in aitk["process_types"] and "linear_alpha" in aitk["sections"]["network"]
    dp = load_upstream("diffusion_pipe.json")
    assert "max_steps" in dp["top_level"] and "sdxl" in dp["model_types"]
    assert {"wan", "chroma", "lumina_2"} <= set(dp["model_types"]) and dp["block_swap_types"] == [
        "chroma",
        "flux",
        "flux2",
        "hidream",
        "hunyuan-video",
        "qwen_image",
        "wan",
        "z_image",
    ]
    assert {"qwen_image", "flux2", "z_image"} <= set(dp["model_types"])
    assert {"diffusers_path", "transformer_dtype"} <= set(dp["model_by_type"]["qwen_image"])
    assert {"diffusion_model", "diffusion_model_dtype", "vae", "text_encoders"} <= set(dp["model"])
    assert dp["text_encoder_entry"] == ["path", "paths", "type"]
    assert {"qwen_image", "wan22_14b", "wan22_5b", "flux2", "flux2_klein_4b", "zimage"} <= set(
        aitk["model_class_archs"]
    )
    assert "ckpt_path" in dp["model_by_type"]["wan"] and {"llm_path", "vae_path"} <= set(
        dp["model_by_type"]["lumina_2"]
    )
    assert {"diffusers_path", "transformer_path"} <= set(dp["model_by_type"]["chroma"])
    assert {"v2", "v_parameterization"} <= set(kohya["scripts"]["train_network"])


def test_validators_reject_a_key_the_trainer_does_not_read(tmp_path):
    spec = _spec(tmp_path, "kohya", "sdxl", "regular", 24)
    run = tomllib.loads(ADAPTERS["kohya"].render(spec)["run.toml"])
    run["training"]["learning_rat"] = 1e-4
    run["network"]["network_dim"] = "16"
    problems = kohya_run_problems("sdxl_train_network.py", run)
    assert any(p.startswith("learning_rat") for p in problems)
    assert any(p.startswith("network_dim") for p in problems)
    dataset = tomllib.loads(ADAPTERS["kohya"].render(spec)["dataset.toml"])
    dataset["datasets"][0]["subsets"][0]["folder"] = "x"
    del dataset["datasets"][0]["subsets"][0]["image_dir"]
    problems = kohya_dataset_problems(dataset)
    assert any("folder: unknown key" in p for p in problems) and any("image_dir: required" in p for p in problems)
    job = yaml.safe_load(ADAPTERS["ai-toolkit"].render(_spec(tmp_path, "ai-toolkit", "sdxl", "quick", 24))["job.yaml"])
    job["config"]["process"][0]["network"]["rank"] = 4
    job["config"]["process"][0]["network"]["lienar"] = 4
    assert ai_toolkit_problems(job) == ["config.process[0].network.lienar: not read"]


def test_kohya_flux_uses_its_own_network_and_model_files(tmp_path):
    spec = _spec(tmp_path, "kohya", "flux1", "regular", 16)
    run = tomllib.loads(ADAPTERS["kohya"].render(spec)["run.toml"])
    assert run["network"]["network_module"] == "networks.lora_flux"
    assert run["model"]["ae"].endswith("vae/ae.safetensors") and run["model"]["t5xxl"].endswith(
        "t5xxl_fp16.safetensors"
    )
    assert run["training"]["fp8_base"] is True and run["training"]["blocks_to_swap"] == 8
    argv = ADAPTERS["kohya"].command(spec).argv
    assert argv[1:3] == ["-m", "accelerate.commands.launch"] and argv[-3].endswith("flux_train_network.py")
    assert argv[-2:] == ["--config_file", str(spec.run_dir / "run.toml")]


@pytest.mark.parametrize("quality", QUALITIES)
def test_native_flux_renders_bf16_transformer_blocks_without_text_encoders(tmp_path, quality):
    spec = _spec(tmp_path, "native", "flux1", quality, 48)
    transformer = tmp_path / "models" / "diffusers" / "flux1" / "transformer"
    transformer.mkdir(parents=True)
    (transformer / "config.json").write_text('{"num_layers": 19, "num_single_layers": 3}')
    run = tomllib.loads(ADAPTERS["native"].render(spec)["run.toml"])
    assert run["model"] == {"pretrained": str(tmp_path / "models" / "diffusers" / "flux1"), "family": "flux1"}
    assert run["training"]["mixed_precision"] == "bf16" and run["save"]["precision"] == "bf16"
    assert run["training"]["gradient_checkpointing"] is True and run["training"]["batch_size"] == 1
    assert run["network"]["train_text_encoder"] is False and "text_encoder_lr" not in run["network"]
    assert run["optim"]["optimizer"] == "adamw" and "min_snr_gamma" not in run["optim"]
    assert run["sample"]["guidance"] == 3.5
    targets = run["network"]["target_modules"]
    # every linear layer of the double and single blocks, each with a kohya (BFL) name; not the final layer
    assert {
        "attn.to_q",
        "attn.add_q_proj",
        "ff_context.net.2",
        "norm1_context.linear",
        "proj_mlp",
        "norm.linear",
    } <= set(targets)
    assert [t for t in targets if t.endswith("proj_out")] == [
        f"single_transformer_blocks.{i}.proj_out" for i in range(3)
    ]
    assert ADAPTERS["native"].check(spec) == []
    native = load_config(_written(spec, run))
    assert native.model.family == "flux1" and native.network.target_modules == targets


def _written(spec: RunSpec, run: dict) -> Path:
    import tomli_w

    spec.run_dir.mkdir(parents=True, exist_ok=True)
    (spec.run_dir / "run.toml").write_text(tomli_w.dumps(run))
    return spec.run_dir / "run.toml"


def test_kohya_resume_points_at_the_newest_state(tmp_path):
    spec = _spec(tmp_path, "kohya", "sd15", "quick", 8, resume=True)
    for step in (100, 200):
        (spec.output_dir / f"lora-sd15-step{step:08d}-state").mkdir(parents=True)
    run = tomllib.loads(ADAPTERS["kohya"].render(spec)["run.toml"])
    assert run["resume"] == {
        "resume": str(spec.output_dir / "lora-sd15-step00000200-state"),
        "skip_until_initial_step": True,
    }
    assert kohya_run_problems("train_network.py", run) == []


def test_sample_prompts_file_uses_sd_scripts_options(tmp_path):
    spec = _spec(tmp_path, "kohya", "sdxl", "regular", 24)
    spec.profile.sample.negative = "blurry -- low quality"
    lines = ADAPTERS["kohya"].render(spec)["sample_prompts.txt"].splitlines()
    assert lines[0] == "mycat --w 1024 --h 1024 --d 1234 --s 20 --l 7.0 --n blurry - low quality"


def test_diffusion_pipe_resume_and_gpu_selection(tmp_path):
    spec = _spec(tmp_path, "diffusion-pipe", "sdxl", "regular", 24, resume=True)
    spec.gpu_ids = ["1"]
    argv = ADAPTERS["diffusion-pipe"].command(spec).argv
    assert argv[0].endswith("bin/deepspeed") and "--include=localhost:1" in argv
    assert argv[-1] == "--resume_from_checkpoint" and "--deepspeed" in argv


def test_native_command_uses_accelerate_for_several_gpus(tmp_path):
    spec = _spec(tmp_path, "native", "sd15", "regular", 24, resume=True)
    assert ADAPTERS["native"].command(spec).argv[1:] == [
        "-m",
        "lorapilot.tools.trainpilot.native",
        "--config",
        str(spec.run_dir / "run.toml"),
        "--resume",
        "auto",
    ]
    spec.profile.training.num_gpus = 2
    argv = ADAPTERS["native"].command(spec).argv
    assert argv[1:6] == ["-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2"]
    assert argv[6:8] == ["-m", "lorapilot.tools.trainpilot.native"]


def test_kohya_resumes_from_the_newest_state_even_when_renumbered(tmp_path):
    import os

    spec = _spec(tmp_path, "kohya", "sd15", "quick", 8, resume=True)
    old, new = spec.output_dir / "lora-sd15-step00000200-state", spec.output_dir / "lora-sd15-step00000010-state"
    for i, state in enumerate((old, new)):
        state.mkdir(parents=True)
        os.utime(state, ns=(10**18 + i * 10**9, 10**18 + i * 10**9))
    # sd-scripts restarts its global_step inside the epoch after a resume: the newer state has the smaller number.
    assert ADAPTERS["kohya"].find_outputs(spec).latest_state == (10, new)
    assert tomllib.loads(ADAPTERS["kohya"].render(spec)["run.toml"])["resume"]["resume"] == str(new)


def test_diffusion_pipe_swaps_blocks_only_for_models_that_can(tmp_path):
    # Diffusion Pipe's SD3 and Lumina 2 pipelines raise NotImplementedError on blocks_to_swap.
    for family, swaps in (
        ("sd3", False),
        ("lumina2", False),
        ("flux1", True),
        ("chroma", True),
        ("wan21", True),
        ("hidream", True),
        ("hunyuanvideo", True),
    ):
        spec = _spec(
            tmp_path / family, "diffusion-pipe", family, "quick", {"hidream": 24, "hunyuanvideo": 16}.get(family, 12)
        )
        assert spec.profile.training.blocks_to_swap > 0
        main = tomllib.loads(ADAPTERS["diffusion-pipe"].render(spec)["main.toml"])
        assert ("blocks_to_swap" in main) is swaps, family
        warned = [i for i in ADAPTERS["diffusion-pipe"].check(spec) if i.field == "training.blocks_to_swap"]
        assert [i.level for i in warned] == ([] if swaps else ["warning"])


def test_diffusion_pipe_further_families_name_their_files(tmp_path):
    dp = ADAPTERS["diffusion-pipe"]
    wan = tomllib.loads(dp.render(_spec(tmp_path / "w", "diffusion-pipe", "wan21", "regular", 24))["main.toml"])
    assert wan["model"]["type"] == "wan" and wan["model"]["ckpt_path"].endswith("models/wan/Wan2.1-T2V-14B")
    chroma = tomllib.loads(dp.render(_spec(tmp_path / "c", "diffusion-pipe", "chroma", "regular", 16))["main.toml"])[
        "model"
    ]
    assert chroma["type"] == "chroma" and chroma["transformer_path"].endswith("chroma-unlocked-v50.safetensors")
    assert chroma["diffusers_path"].endswith("models/diffusers/flux1") and chroma["transformer_dtype"] == "float8"
    lumina = tomllib.loads(dp.render(_spec(tmp_path / "l", "diffusion-pipe", "lumina2", "regular", 24))["main.toml"])[
        "model"
    ]
    assert lumina["type"] == "lumina_2" and lumina["llm_path"].endswith("gemma_2_2b_fp16.safetensors")
    assert lumina["vae_path"].endswith("vae/flux_vae.safetensors") and "transformer_dtype" not in lumina


def test_diffusion_pipe_refuses_the_wrong_base_shape_and_missing_parts(tmp_path):
    dp = ADAPTERS["diffusion-pipe"]
    spec = _spec(tmp_path, "diffusion-pipe", "wan21", "regular", 24)
    spec.profile.model.base = "diffusers/wan21"  # a -Diffusers folder (model_index.json), not the official one
    (spec.models_dir / "diffusers" / "wan21" / "model_index.json").write_text("{}")
    assert any(i.field == "model.base" and "official Wan 2.1 checkpoint folder" in i.message for i in dp.check(spec))
    official = spec.models_dir / "wan" / "Wan2.1-T2V-14B"
    official.mkdir(parents=True)
    (official / "config.json").write_text('{"model_type": "t2v", "dim": 5120}')
    spec.profile.model.base = "wan/Wan2.1-T2V-14B"
    assert [i for i in dp.check(spec) if i.field == "model.base"] == []
    spec = _spec(tmp_path, "diffusion-pipe", "chroma", "regular", 24)
    spec.profile.model.diffusers = None
    assert any(i.field == "model.diffusers" and "FLUX.1 diffusers folder" in i.message for i in dp.check(spec))
    spec = _spec(tmp_path, "diffusion-pipe", "lumina2", "regular", 24)
    spec.profile.model.llm = spec.profile.model.vae = None
    assert {i.field for i in dp.check(spec) if i.level == "error"} >= {"model.llm", "model.vae"}


def test_kohya_sd2_trains_with_v2_and_v_parameterization(tmp_path):
    spec = _spec(tmp_path, "kohya", "sd2", "regular", 12)
    run = tomllib.loads(ADAPTERS["kohya"].render(spec)["run.toml"])
    assert run["model"]["v2"] is True and run["model"]["v_parameterization"] is True
    assert kohya_run_problems("train_network.py", run) == []
    assert ADAPTERS["kohya"].command(spec).argv[-3].endswith("/train_network.py")
    spec.profile.model.v_prediction = False  # the 512 base predicts noise
    run = tomllib.loads(ADAPTERS["kohya"].render(spec)["run.toml"])
    assert run["model"]["v2"] is True and "v_parameterization" not in run["model"]
    assert [i.level for i in ADAPTERS["kohya"].check(spec) if i.field == "model.v_prediction"] == ["warning"]


def test_ai_toolkit_further_families_pick_their_model_class(tmp_path):
    aitk = ADAPTERS["ai-toolkit"]
    for family, arch in (
        ("sd2", "sd2"),
        ("chroma", "chroma"),
        ("wan21", "wan21"),
        ("lumina2", "lumina2"),
        ("hidream", "hidream"),
    ):
        job = yaml.safe_load(aitk.render(_spec(tmp_path / family, "ai-toolkit", family, "regular", 24))["job.yaml"])
        proc = job["config"]["process"][0]
        assert proc["model"]["arch"] == arch and ai_toolkit_problems(job) == []
        assert proc["train"]["noise_scheduler"] == ("ddpm" if family == "sd2" else "flowmatch")
        assert proc["model"].get("is_v_pred", False) is (family == "sd2")
    facts = load_upstream("ai_toolkit.json")
    assert {"chroma", "wan21"} <= set(facts["model_class_archs"]) and "lumina2" in facts["literals"]["ModelArch"]
    job = yaml.safe_load(aitk.render(_spec(tmp_path / "x", "ai-toolkit", "chroma", "quick", 24))["job.yaml"])
    job["config"]["process"][0]["model"]["arch"] = "chroma2"
    assert ai_toolkit_problems(job) == [
        "config.process[0].model.arch: 'chroma2' neither a ModelArch nor a model class's arch"
    ]


def test_hidream_takes_its_llama_folder_in_both_trainers(tmp_path):
    spec = _spec(tmp_path, "diffusion-pipe", "hidream", "regular", 24)
    model = tomllib.loads(ADAPTERS["diffusion-pipe"].render(spec)["main.toml"])["model"]
    assert model["type"] == "hidream" and model["diffusers_path"].endswith("models/diffusers/hidream")
    assert model["llama3_path"].endswith("text_encoders/Meta-Llama-3.1-8B-Instruct")
    assert model["llama3_4bit"] is True and model["transformer_dtype"] == "float8"  # 24 GB: 4-bit Llama, fp8 weights
    spec48 = _spec(tmp_path / "48", "diffusion-pipe", "hidream", "regular", 48)
    main48 = tomllib.loads(ADAPTERS["diffusion-pipe"].render(spec48)["main.toml"])
    assert (
        main48["model"]["llama3_4bit"] is False
        and "transformer_dtype" not in main48["model"]
        and "blocks_to_swap" not in main48
    )
    spec.profile.model.llm = None
    assert any(i.field == "model.llm" and i.level == "error" for i in ADAPTERS["diffusion-pipe"].check(spec))
    aitk = _spec(tmp_path / "a", "ai-toolkit", "hidream", "regular", 24)
    aitk.profile.model.llm = "text_encoders/Meta-Llama-3.1-8B-Instruct"
    job = yaml.safe_load(ADAPTERS["ai-toolkit"].render(aitk)["job.yaml"])
    model = job["config"]["process"][0]["model"]
    assert model["model_kwargs"] == {
        "llama_model_path": str(tmp_path / "a" / "models" / "text_encoders" / "Meta-Llama-3.1-8B-Instruct")
    }
    assert model["extras_name_or_path"] == model["name_or_path"] and ai_toolkit_problems(job) == []
    model["model_kwargs"]["llama_path"] = "x"
    assert ai_toolkit_problems(job) == ["config.process[0].model.model_kwargs.llama_path: not read by 'hidream'"]


def test_the_video_families_name_every_file_diffusion_pipe_needs(tmp_path):
    dp = ADAPTERS["diffusion-pipe"]
    spec = _spec(tmp_path / "h", "diffusion-pipe", "hunyuanvideo", "regular", 24)
    model = tomllib.loads(dp.render(spec)["main.toml"])["model"]
    assert model["type"] == "hunyuan-video" and "ckpt_path" not in model and model["transformer_dtype"] == "float8"
    assert model["transformer_path"].endswith("hunyuan_video_720_cfgdistill_fp8_e4m3fn.safetensors")
    assert model["llm_path"].endswith("llava-llama-3-8b-text-encoder-tokenizer") and model["clip_path"].endswith(
        "clip-vit-large-patch14"
    )
    assert model["vae_path"].endswith("hunyuan_video_vae_bf16.safetensors")
    spec.profile.model.vae = spec.profile.model.llm = spec.profile.model.clip_l = None
    assert {i.field for i in dp.check(spec) if i.level == "error"} >= {"model.vae", "model.llm", "model.clip_l"}
    spec = _spec(tmp_path / "l", "diffusion-pipe", "ltxvideo", "quick", 8)
    main = tomllib.loads(dp.render(spec)["main.toml"])
    assert main["model"]["type"] == "ltx-video" and main["model"]["single_file_path"].endswith(
        "ltx-video-2b-v0.9.1.safetensors"
    )
    assert main["model"]["diffusers_path"].endswith("models/diffusers/LTX-Video") and "blocks_to_swap" not in main
    assert spec.profile.training.blocks_to_swap == 0 and spec.profile.dataset.resolution == 512
    spec.profile.model.diffusers = None
    assert [i.field for i in dp.check(spec) if i.level == "error"] == ["model.diffusers"]


def test_ai_toolkit_refuses_a_wan_image_to_video_folder(tmp_path):
    spec = _spec(tmp_path, "ai-toolkit", "wan21", "regular", 24)
    index = spec.models_dir / "diffusers" / "wan21" / "model_index.json"
    index.write_text('{"_class_name": "WanPipeline"}')
    assert [i for i in ADAPTERS["ai-toolkit"].check(spec) if i.field == "model.base"] == []
    index.write_text('{"_class_name": "WanImageToVideoPipeline"}')
    assert any(
        i.field == "model.base" and i.level == "error" and "image-to-video" in i.message
        for i in ADAPTERS["ai-toolkit"].check(spec)
    )


def _with_regularization(spec: RunSpec, tmp_path: Path) -> RunSpec:
    from lorapilot.tools.trainpilot.profiles import RegularizationRef

    spec.profile.regularization = RegularizationRef(name="cat-class", repeats=3, weight=0.5, class_tokens="cat")
    spec.reg_image_dir = tmp_path / "cat-class"
    return spec


@pytest.mark.parametrize("family", ["sd15", "sdxl", "flux1"])
def test_kohya_renders_the_regularization_set_as_an_is_reg_subset(tmp_path, family):
    spec = _with_regularization(_spec(tmp_path, "kohya", family, "regular", 24), tmp_path)
    from lorapilot.tools.trainpilot.adapters.kohya import SCRIPTS

    files = ADAPTERS["kohya"].render(spec)
    dataset, run = tomllib.loads(files["dataset.toml"]), tomllib.loads(files["run.toml"])
    assert kohya_dataset_problems(dataset) == [] and kohya_run_problems(SCRIPTS[family], run) == []
    subsets = dataset["datasets"][0]["subsets"]
    assert subsets[1] == {
        "image_dir": str(tmp_path / "cat-class"),
        "num_repeats": 3,
        "is_reg": True,
        "class_tokens": "cat",
    }
    assert "is_reg" not in subsets[0]
    assert run["training"]["prior_loss_weight"] == 0.5


def test_ai_toolkit_renders_the_regularization_set_as_an_is_reg_dataset(tmp_path):
    spec = _with_regularization(_spec(tmp_path, "ai-toolkit", "sdxl", "regular", 24), tmp_path)
    job = yaml.safe_load(ADAPTERS["ai-toolkit"].render(spec)["job.yaml"])
    assert ai_toolkit_problems(job) == []
    process = job["config"]["process"][0]
    train_set, reg_set = process["datasets"]
    assert (
        reg_set["is_reg"] is True
        and reg_set["folder_path"] == str(tmp_path / "cat-class")
        and reg_set["num_repeats"] == 3
    )
    assert "is_reg" not in train_set and train_set["folder_path"] == str(tmp_path / "cats")
    assert process["train"]["reg_weight"] == 0.5


def test_native_renders_the_regularization_set_as_prior_preservation(tmp_path):
    spec = _with_regularization(_spec(tmp_path, "native", "sd15", "regular", 24), tmp_path)
    spec.run_dir.mkdir(parents=True)
    (spec.run_dir / "run.toml").write_text(ADAPTERS["native"].render(spec)["run.toml"])
    reg = load_config(spec.run_dir / "run.toml").regularization
    assert reg is not None
    assert (reg.image_dir, reg.repeats, reg.prior_loss_weight, reg.class_tokens) == (
        tmp_path / "cat-class",
        3,
        0.5,
        "cat",
    )


def test_diffusion_pipe_refuses_a_regularization_set(tmp_path):
    spec = _with_regularization(_spec(tmp_path, "diffusion-pipe", "sdxl", "regular", 24), tmp_path)
    issues = [i for i in ADAPTERS["diffusion-pipe"].check(spec) if i.field == "regularization.name"]
    assert issues and issues[0].level == "error"
