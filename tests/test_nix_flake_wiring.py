"""The flake's wiring, evaluated and built against stub inputs (tests/nix/stubs/).

The stubs stand in for nixpkgs, pyproject.nix, uv2nix and build-system-pkgs and
record how they were called; every component source is a folder naming its input.
The derivations are real: the app wrapper is built and run, the manifest is
read by lorapilot.stack.component_paths, and process-compose-config runs `lorapilot render`
inside a Nix build.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from lorapilot.stack.component_paths import load_manifest
from lorapilot.stack.components import load_registry
from lorapilot.stack.components.custom_nodes import load_custom_nodes
from support.nixflake import Flake, copy_tree, nix_available
from support.workspaces import REPO_ROOT

pytestmark = [
    pytest.mark.nix,
    pytest.mark.slow,
    pytest.mark.skipif(not nix_available(), reason="nix is not installed (CI installs nix-bin)"),
]

SYSTEM = "x86_64-linux"
PYTHON_ENVS = sorted(p.parent.name for p in (REPO_ROOT / "components").glob("*/uv.lock"))


@pytest.fixture(scope="module")
def stubbed(tmp_path_factory):
    work = tmp_path_factory.mktemp("nix-wiring")
    flake = Flake(copy_tree(work / "flake"), work)
    sources = flake.use_stubs(work / "sources")
    return flake, sources


def test_nixpkgs_is_imported_with_unfree_and_cuda(stubbed):
    flake, _ = stubbed
    shell = flake.eval_json(f"devShells.{SYSTEM}.default.stubCall")
    assert shell["nixpkgsConfig"] == {"allowUnfree": True, "cudaSupport": True}


def test_app_program_exists_and_runs_lorapilot(stubbed):
    flake, _ = stubbed
    app = flake.eval_json(f"apps.{SYSTEM}.lorapilot")
    assert app["type"] == "app"
    assert flake.eval_json(f"apps.{SYSTEM}.default") == app
    package = flake.build(f"packages.{SYSTEM}.lorapilot")
    program = package / "bin" / "lorapilot-up"
    assert app["program"].endswith("-lorapilot/bin/lorapilot-up")
    assert program.is_file() and os.access(program, os.X_OK)
    # The wrapper runs the lorapilot of its environment with the Nix manifest.
    out = subprocess.run([str(package / "bin" / "lorapilot"), "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "LoRA Pilot" in out.stdout
    script = (package / "bin" / "lorapilot").read_text()
    assert "LORAPILOT_MANIFEST" in script and "process-compose" in script
    assert "ffmpeg-headless" in script  # TagPilot's clips need ffprobe/ffmpeg on the app's PATH
    assert (package / "bin" / "lorapilot-up").read_text().rstrip().endswith('lorapilot" up "$@"')


def test_every_component_environment_is_wired_into_the_manifest(stubbed):
    flake, sources = stubbed
    package = flake.build(f"packages.{SYSTEM}.lorapilot")
    manifest = load_manifest(package / "share" / "lorapilot" / "manifest.json")
    for name in PYTHON_ENVS:
        env = manifest.location(name).env
        assert env is not None and env.name.endswith(f"-{name}-env"), name
        assert (env / "bin" / "python").exists(), name
    assert manifest.location("lorapilot-train").env.name.endswith("-lorapilot-train-env")
    copilot = manifest.location("copilot").env / "bin" / "copilot"
    assert subprocess.run([str(copilot)], capture_output=True, text=True).stdout.strip() == "copilot stub"
    assert flake.eval_json(f"packages.{SYSTEM}.copilot-env.stubCall.nativeBuildInputs") == ["auto-patchelf-hook"]
    assert manifest.location("code-server").env.name.endswith("-code-server")
    assert manifest.lorapilot_python.name == "python" and manifest.lorapilot_python.parent.parent.name.endswith(
        "-lorapilot-env"
    )
    # Sources: each git component's own input, submodules in place.
    assert (manifest.location("comfyui").src / "STUB_SOURCE").read_text() == "comfyui"
    # ComfyUI's pinned custom nodes (custom-nodes.toml), fetched by their hash into custom_nodes/<name>.
    for node in load_custom_nodes(REPO_ROOT / "components" / "comfyui" / "custom-nodes.toml"):
        fetched = manifest.location("comfyui").src / "custom_nodes" / node.name / "STUB_FETCH"
        owner_repo = node.repository.removeprefix("https://github.com/")
        assert fetched.read_text() == f"{owner_repo}@{node.rev} {node.hash}"
    kohya = manifest.location("kohya").src
    assert (kohya / "STUB_SOURCE").read_text() == "kohya"
    assert (kohya / "sd-scripts" / "STUB_SOURCE").read_text() == "kohya-sd-scripts"
    dp = manifest.location("diffusion-pipe").src
    for path, node in (
        ("submodules/ComfyUI", "diffusion-pipe-comfyui"),
        ("submodules/HunyuanVideo", "diffusion-pipe-hunyuanvideo"),
        ("submodules/HunyuanImage-2.1", "diffusion-pipe-hunyuanimage-2-1"),
        ("submodules/Lumina_2", "diffusion-pipe-lumina-2"),
    ):
        assert (dp / path / "STUB_SOURCE").read_text() == node
    aitk = manifest.location("ai-toolkit")
    assert (aitk.src / "STUB_SOURCE").read_text() == "ai-toolkit"
    # Its job worker runs <tree>/.venv/bin/python: that is AI Toolkit's environment.
    assert (aitk.src / ".venv").resolve() == aitk.env.resolve()
    assert (aitk.src / "ui").is_dir()
    for name in PYTHON_ENVS:
        assert flake.eval_json(f"packages.{SYSTEM}.{name}-env.stubPackages", apply="ps: builtins.length ps") > 0


def test_each_environment_is_built_from_its_own_lock(stubbed):
    flake, _ = stubbed
    for name in PYTHON_ENVS:
        root = flake.eval_json(f"packages.{SYSTEM}.{name}-env.passthru.workspaceRoot", apply="toString")
        assert root.endswith(f"/components/{name}"), root
        assert (
            flake.eval_json(f"packages.{SYSTEM}.{name}-env.passthru.python.version")
            == (REPO_ROOT / "components" / name / ".python-version").read_text().strip()
        )
    # LoRA Pilot's own environments build from the sdist's files (hatch_build.py included), not the whole tree.
    source = Path(flake.eval_json(f"packages.{SYSTEM}.lorapilot-env.passthru.workspaceRoot"))
    assert {p.name for p in source.iterdir()} == {
        "pyproject.toml",
        "uv.lock",
        "README.md",
        "hatch_build.py",
        "python",
        "components",
    }
    assert not (source / "python" / "lorapilot" / "controlpilot" / "web" / "node_modules").exists()
    train = flake.eval_json(f"packages.{SYSTEM}.lorapilot-train-env.stubPackages", apply="ps: map (p: p.pname) ps")
    core = flake.eval_json(f"packages.{SYSTEM}.lorapilot-env.stubPackages", apply="ps: map (p: p.pname) ps")
    assert "torch" in train and "diffusers" in train and "xformers" in train
    assert "torch" not in core and "fastapi" in core


def _packages(flake, env):
    return {p["pname"]: p for p in flake.eval_json(f"packages.{SYSTEM}.{env}.stubPackages")}


def test_cuda_wheels_find_their_siblings_and_only_the_driver_may_be_missing(stubbed):
    flake, _ = stubbed
    pkgs = _packages(flake, "comfyui-env")
    torch = pkgs["torch"]
    assert torch["autoPatchelfIgnoreMissingDeps"] == ["libcuda.so.1"]
    assert torch["appendRunpaths"] == ["/run/opengl-driver/lib"]
    nvidia = sorted(n for n in pkgs if n.startswith("nvidia-"))
    assert nvidia, "the comfyui lock has CUDA wheels"
    for name in nvidia:  # torch's closure holds every nvidia-* wheel
        assert f"-{name}-" in torch["preFixup"], name
    # A wheel finds the siblings it depends on, and only those (no cycles).
    cudnn = pkgs["nvidia-cudnn-cu12"]
    assert "-nvidia-cublas-cu12-" in cudnn["preFixup"]
    assert "-nvidia-cudnn-cu12-" not in cudnn["preFixup"]
    assert cudnn["autoPatchelfIgnoreMissingDeps"] == ["libcuda.so.1"]
    # torchvision links to torch's libraries.
    assert "-torch-" in pkgs["torchvision"]["preFixup"]
    # Pure-Python wheels are left alone.
    assert pkgs["tqdm"]["autoPatchelfIgnoreMissingDeps"] == []


def test_ai_toolkit_ui_builds_offline_and_keeps_its_database_outside_the_store(stubbed):
    flake, _ = stubbed
    ui = flake.eval_json(f"packages.{SYSTEM}.lorapilot.passthru.sources.ai-toolkit.ui.stubCall")
    assert ui["fn"] == "buildNpmPackage"
    assert 'url      = env("DATABASE_URL")' in ui["postPatch"]
    assert "next/font/google" in ui["postPatch"]  # the font download is patched out
    assert ui["env"]["PRISMA_SCHEMA_ENGINE_BINARY"].endswith("/bin/schema-engine")
    spec = (REPO_ROOT / "components" / "ai-toolkit" / "component.toml").read_text()
    assert 'DATABASE_URL = "file:{state}/aitk_db.db"' in spec


def test_sdist_only_packages_get_a_build_system(stubbed):
    flake, _ = stubbed
    pkgs = _packages(flake, "diffusion-pipe-env")
    deepspeed = pkgs["deepspeed"]
    assert deepspeed["format"] == "pyproject"
    assert {"setuptools", "wheel", "torch"} <= set(deepspeed["nativeBuildInputs"])
    assert deepspeed["env"]["DS_BUILD_OPS"] == "0"
    assert deepspeed["env"]["DS_ACCELERATOR"] == "cpu"  # "cuda" makes setup.py run nvcc, which the build lacks


def test_process_compose_config_is_rendered_by_lorapilot_in_a_derivation(stubbed):
    flake, sources = stubbed
    script = flake.eval_json(f"packages.{SYSTEM}.process-compose-config.stubCall.script")
    assert "lorapilot render process-compose" in script
    config = yaml.safe_load(flake.build(f"packages.{SYSTEM}.process-compose-config").read_text())
    manifest = load_manifest(flake.build(f"packages.{SYSTEM}.manifest"))
    comfy = config["processes"]["comfyui"]
    assert comfy["entrypoint"][0] == str(manifest.lorapilot_python)
    assert str(manifest.location("comfyui").env / "bin" / "python") in comfy["entrypoint"]
    assert comfy["working_dir"] == str(manifest.location("comfyui").src)
    assert "disabled" not in comfy
    assert config["processes"]["controlpilot"]["readiness_probe"]["http_get"]["port"] == "7878"
    assert flake.eval_json(f"checks.{SYSTEM}.process-compose-config.stubCall.script") == script


def test_image_config_has_entrypoint_ports_volume_and_driver_env(stubbed):
    flake, _ = stubbed
    call = flake.eval_json(f"packages.{SYSTEM}.oci-image.stubCall")
    assert call["fn"] == "dockerTools.streamLayeredImage"
    args = call["args"]
    assert args["maxLayers"] < 100
    config = args["config"]
    assert config["Entrypoint"][0].endswith("-lorapilot/bin/lorapilot") and config["Entrypoint"][1:] == [
        "up",
        "--no-tui",
    ]
    assert config["Volumes"] == {"/workspace": {}}
    ports = flake.eval_json("lib.ports")
    exposed = {f"{port}/tcp" for name, port in ports.items() if name != "copilot"}  # copilot is loopback-only
    assert set(config["ExposedPorts"]) == exposed
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["NVIDIA_DRIVER_CAPABILITIES"] == "compute,utility"
    assert "/usr/lib/x86_64-linux-gnu" in env["LD_LIBRARY_PATH"].split(":")
    assert env["LORAPILOT_WORKSPACE"] == "/workspace"
    assert config["User"] == "1000:1000"
    assert "lorapilot:x:1000:1000" in args["fakeRootCommands"]
    root = flake.eval_json(f"packages.{SYSTEM}.oci-image-root.stubCall.args.config.User")
    assert root == "0:0"


def test_dev_shell_has_the_toolchain_and_driver_path(stubbed):
    flake, _ = stubbed
    shell = flake.eval_json(f"devShells.{SYSTEM}.default.stubCall")
    for tool in ("python3.11", "uv", "nodejs", "process-compose", "nix", "cuda-nvcc", "cuda-cudart"):
        assert tool in shell["packages"], tool
    assert "LD_LIBRARY_PATH" in shell["shellHook"] and "/run/opengl-driver/lib" in shell["shellHook"]
    assert shell["env"]["UV_PYTHON_DOWNLOADS"] == "never"


def test_mk_lorapilot_applies_ports_enabled_and_workspace(stubbed):
    flake, _ = stubbed
    expr = (
        'f: let lp = f { system = "x86_64-linux"; ports = { comfyui = 5600; }; '
        'enabled = [ "controlpilot" "comfyui" ]; workspace = "/data/lp"; }; in '
        "{ program = lp.app.program; ports = lp.image.stubCall.args.config.ExposedPorts; }"
    )
    result = flake.eval_json("lib.mkLorapilot", apply=expr)
    assert set(result["ports"]) == {"5600/tcp", "7878/tcp"}
    assert result["program"] != flake.eval_json(f"apps.{SYSTEM}.lorapilot.program")
    # The component specs it hands lorapilot: comfyui on 5600, only the enabled two.
    components = flake.realise(
        "lib.mkLorapilot",
        "f: (f { ports = { comfyui = 5600; }; "
        'enabled = [ "controlpilot" "comfyui" ]; workspace = "/data/lp"; }).componentsDir',
    )
    registry = load_registry(components_dir=components)
    assert registry.names() == ["comfyui", "controlpilot"]
    assert registry.get("comfyui").port == 5600 and registry.get("controlpilot").port == 7878
    # The manifest (what the package and the image reference) holds only what is enabled,
    # the trainers' environments (no service of their own) and LoRA Pilot's own.
    kept = flake.eval_json(
        "lib.mkLorapilot",
        apply='f: builtins.attrNames (f { enabled = [ "controlpilot" "comfyui" ]; }).manifestData.components',
    )
    assert set(kept) == {"comfyui", "diffusion-pipe", "lorapilot-train"}
    everything = flake.eval_json("lib.mkLorapilot", apply="f: builtins.attrNames (f { }).manifestData.components")
    assert {"kohya", "invokeai", "ai-toolkit", "comfyui", "diffusion-pipe"} <= set(everything)
    package = flake.realise("lib.mkLorapilot", 'f: (f { workspace = "/data/lp"; }).package')
    assert "LORAPILOT_WORKSPACE=${LORAPILOT_WORKSPACE:-/data/lp}" in (package / "bin" / "lorapilot").read_text()
    bad = flake.run(
        "eval",
        "--json",
        f"{flake.ref}#lib.mkLorapilot",
        "--apply",
        'f: (f { enabled = [ "nope" ]; }).app.program',
        check=False,
    )
    assert bad.returncode != 0 and "unknown component(s) nope" in bad.stderr


def test_checks_cover_tests_pins_and_rendered_config(stubbed):
    flake, _ = stubbed
    names = flake.eval_json(f"checks.{SYSTEM}", apply="builtins.attrNames")
    assert set(names) == {"tests", "pins", "process-compose-config"}
    script = flake.eval_json(f"checks.{SYSTEM}.tests.stubCall.script")
    assert "pytest" in script and "not nix" in script
    flake.build(f"checks.{SYSTEM}.pins")


def test_system_libraries_and_removals_fix_the_build_breakers(stubbed):
    flake, _ = stubbed
    aitk = _packages(flake, "ai-toolkit-env")
    # cuFile's RDMA path needs rdma-core (libibverbs, librdmacm, libmlx5).
    assert any("-rdma-core" in p for p in aitk["nvidia-cufile-cu12"]["buildInputs"])
    # Every wheel gets the manylinux2014 libraries and zlib.
    for name in ("tqdm", "numpy", "torch"):
        inputs = aitk[name]["buildInputs"]
        assert any(p.endswith("-zlib") for p in inputs) and any(p.endswith("-gcc-lib") for p in inputs), name
    # bitsandbytes keeps the CUDA 12 builds (found among every nvidia wheel) and drops what cannot load.
    bnb = aitk["bitsandbytes"]
    for glob in ("libbitsandbytes_rocm*", "libbitsandbytes_xpu*", "libbitsandbytes_cuda11*", "libbitsandbytes_cuda13*"):
        assert f"find $out -name '{glob}' -delete" in bnb["preFixup"]
    assert "-nvidia-cublas-cu12-" in bnb["preFixup"]
    assert bnb["preFixup"].index("-delete") < bnb["preFixup"].index("addAutoPatchelfSearchPath")
    # torchcodec gets FFmpeg 7 and keeps only its FFmpeg 7 core.
    assert any(p.endswith("-ffmpeg-lib") for p in aitk["torchcodec"]["buildInputs"])
    assert "find $out -name 'libtorchcodec_*6.so' -delete" in aitk["torchcodec"]["preFixup"]
    # One OpenCV (its cv2/ files would collide in the venv).
    assert [n for n in aitk if n.startswith("opencv-")] == ["opencv-python"]
    # Kohya's onnxruntime-gpu loses the TensorRT provider (libnvinfer is nowhere).
    ort = _packages(flake, "kohya-env")["onnxruntime-gpu"]
    assert "find $out -name 'libonnxruntime_providers_tensorrt.so' -delete" in ort["preFixup"]


def test_one_torch_build_for_every_environment(stubbed):
    flake, _ = stubbed
    torches = {
        env: _packages(flake, f"{env}-env")["torch"] for env in ("comfyui", "kohya", "invokeai", "lorapilot-train")
    }
    # Its search paths name only native wheels (pure-Python dependencies differ per lock), so
    # every environment's torch is the same derivation.
    assert len({t["preFixup"] for t in torches.values()}) == 1
    assert (
        "-filelock-" not in torches["comfyui"]["preFixup"] and "-nvidia-cudnn-cu12-" in torches["comfyui"]["preFixup"]
    )


def test_image_layers_are_the_torch_base_then_each_environment(stubbed):
    flake, _ = stubbed
    pipeline = flake.eval_json(f"packages.{SYSTEM}.oci-image.stubCall.args.layeringPipeline")
    layers, step = [], pipeline
    while step and step[0][0] == "subcomponent_out":
        layers.append(step[0][1])
        assert step[1][:2] == ["over", "rest"] and step[1][2][0] == "pipe"
        step = step[1][2][1]
    assert step == [["popularity_contest"], ["limit_layers", 60]]
    base = layers[0]
    assert any(p.endswith("-python3.11") for p in base) and any("-torch-" in p for p in base)
    envs = [layer[0].rsplit("-", 1)[0].split("-", 1)[1] for layer in layers[1:]]
    assert envs[:2] == ["lorapilot", "lorapilot-train"]
    assert {"comfyui", "kohya", "invokeai", "ai-toolkit", "diffusion-pipe"} <= set(envs)
    # enabled = [...] leaves the others out of the layers (and of the image).
    few = flake.eval_json(
        "lib.mkLorapilot",
        apply='f: map (s: s) (f { enabled = [ "controlpilot" "comfyui" ]; }).image.stubCall.args.layeringPipeline',
    )
    assert "comfyui-env" in json.dumps(few) and "kohya-env" not in json.dumps(few)
