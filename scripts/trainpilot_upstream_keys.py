#!/usr/bin/env python3
"""Extract the configuration keys each upstream trainer really reads, as JSON facts for tests.

Reads the pinned sources from bare git mirrors (``git show REV:path``) and walks their syntax trees;
no upstream code is copied or run. Output: ``tests/data/trainpilot/upstream/*.json``.

    scripts/trainpilot_upstream_keys.py --sd-scripts /work/.mirror/kohya-ss+sd-scripts/repo \
        --ai-toolkit /work/.mirror/ostris+ai-toolkit/repo --diffusion-pipe /work/.mirror/tdrussell+diffusion-pipe/repo
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
from pathlib import Path

SD_SCRIPTS_REV = "3e6935a07edcb944407840ef74fcaf6fcad352f7"
AI_TOOLKIT_REV = "6c0d1c4679cf8fe153ef56bdc779c93239e1cf0f"
DIFFUSION_PIPE_REV = "a7e7decf4325c1f03e4b88b7de93640029abd011"
OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "trainpilot" / "upstream"


def _is_tree(repo: Path) -> bool:
    """An extracted source tree (the vendor archives), not a git repository."""
    return not (repo / "objects").is_dir() and not (repo / ".git").exists()


def show(repo: Path, rev: str, path: str) -> str:
    if _is_tree(repo):  # the archive holds the tree at ``rev`` (see the vendor README)
        try:
            return (repo / path).read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise subprocess.CalledProcessError(128, ["read", str(repo / path)]) from exc
    return subprocess.run(["git", "-C", str(repo), "show", f"{rev}:{path}"], check=True, capture_output=True, text=True).stdout


def literal(node):
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


# --- sd-scripts: argparse options reachable from each script's setup_parser --------------------------

KOHYA_MODULES = {
    "train_util": "library/train_util.py",
    "utils": "library/utils.py",
    "deepspeed_utils": "library/deepspeed_utils.py",
    "config_util": "library/config_util.py",
    "custom_train_functions": "library/custom_train_functions.py",
    "sdxl_train_util": "library/sdxl_train_util.py",
    "flux_train_utils": "library/flux_train_utils.py",
    "sd3_train_utils": "library/sd3_train_utils.py",
    "train_network": "train_network.py",
    "sdxl_train_network": "sdxl_train_network.py",
    "flux_train_network": "flux_train_network.py",
    "sd3_train_network": "sd3_train_network.py",
}


def _arg_spec(call: ast.Call) -> dict | None:
    options = [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    longs = [o for o in options if o.startswith("--")]
    if not longs:
        return None
    kw = {k.arg: k.value for k in call.keywords if k.arg}
    dest = literal(kw["dest"]) if "dest" in kw else longs[0][2:].replace("-", "_")
    spec: dict = {"dest": dest}
    if "action" in kw:
        spec["action"] = literal(kw["action"])
    if "type" in kw:
        t = kw["type"]
        spec["type"] = t.id if isinstance(t, ast.Name) else ast.unparse(t)
    if "nargs" in kw:
        spec["nargs"] = literal(kw["nargs"]) if literal(kw["nargs"]) is not None else ast.unparse(kw["nargs"])
    if "choices" in kw and literal(kw["choices"]) is not None:
        spec["choices"] = list(literal(kw["choices"]))
    return spec


def kohya_functions(repo: Path) -> dict[tuple[str, str], dict]:
    funcs: dict[tuple[str, str], dict] = {}
    for module, path in KOHYA_MODULES.items():
        try:
            tree = ast.parse(show(repo, SD_SCRIPTS_REV, path))
        except subprocess.CalledProcessError:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef):
                continue
            args, calls = [], []
            for sub in ast.walk(node):
                if not isinstance(sub, ast.Call):
                    continue
                f = sub.func
                if isinstance(f, ast.Attribute) and f.attr == "add_argument":
                    spec = _arg_spec(sub)
                    if spec:
                        args.append(spec)
                elif isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
                    calls.append((f.value.id, f.attr))
                elif isinstance(f, ast.Name):
                    calls.append((None, f.id))
            funcs[(module, node.name)] = {"args": args, "calls": calls}
    return funcs


def kohya_script_args(funcs, module: str) -> dict[str, dict]:
    seen, out = set(), {}

    def visit(key):
        if key in seen or key not in funcs:
            return
        seen.add(key)
        for spec in funcs[key]["args"]:
            out.setdefault(spec["dest"], spec)
        for mod, name in funcs[key]["calls"]:
            if mod is not None and (mod, name) in funcs:
                visit((mod, name))
            elif mod is None:
                if (key[0], name) in funcs:
                    visit((key[0], name))
                else:
                    owners = [k for k in funcs if k[1] == name and name.startswith("add_")]
                    if len(owners) == 1:
                        visit(owners[0])

    visit((module, "setup_parser"))
    return dict(sorted(out.items()))


def kohya_optimizers(repo: Path) -> list[str]:
    """Optimizer names get_optimizer compares against (``optimizer_type == "AdamW".lower()``)."""
    tree = ast.parse(show(repo, SD_SCRIPTS_REV, "library/train_util.py"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "get_optimizer":
            for c in ast.walk(node):
                if isinstance(c, ast.Compare) and ast.unparse(c.left) == "optimizer_type":
                    comp = c.comparators[0]
                    if isinstance(comp, ast.Call) and isinstance(comp.func, ast.Attribute) and isinstance(comp.func.value, ast.Constant):
                        names.add(comp.func.value.value)
    return sorted(n for n in names if n)


def kohya_dataset_schema(repo: Path) -> dict:
    """The voluptuous schema dicts of ConfigSanitizer: key -> accepted type names."""
    tree = ast.parse(show(repo, SD_SCRIPTS_REV, "library/config_util.py"))
    tables = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "ConfigSanitizer":
            for item in node.body:
                if isinstance(item, ast.Assign) and isinstance(item.value, ast.Dict):
                    name = item.targets[0].id
                    entries = {}
                    for k, v in zip(item.value.keys, item.value.values):
                        required = isinstance(k, ast.Call) and getattr(k.func, "id", "") == "Required"
                        key = literal(k.args[0]) if required else literal(k)
                        entries[key] = {"type": ast.unparse(v), "required": required}
                    tables[name] = entries
    return tables


# --- ai-toolkit: keys read by the config classes and by the process ---------------------------------

AITK_CLASSES = {
    "network": "NetworkConfig",
    "train": "TrainConfig",
    "model": "ModelConfig",
    "save": "SaveConfig",
    "sample": "SampleConfig",
    "logging": "LoggingConfig",
    "datasets[]": "DatasetConfig",
}
AITK_PROCESS_FILES = [
    "jobs/process/BaseProcess.py",
    "jobs/process/BaseTrainProcess.py",
    "jobs/process/BaseSDTrainProcess.py",
    "extensions_built_in/sd_trainer/SDTrainer.py",
]


def _keys_read(node, receivers: set[str], methods=("get", "setdefault", "pop")) -> set[str]:
    """String keys read as ``r.get('k')``, ``r['k']``, ``'k' in r`` for r in ``receivers`` (names or attributes)."""

    def is_recv(n):
        if isinstance(n, ast.Name):
            return n.id in receivers
        if isinstance(n, ast.Attribute):
            return n.attr in receivers or ast.unparse(n) in receivers
        return False

    keys = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and sub.func.attr in methods:
            if is_recv(sub.func.value) and sub.args and isinstance(sub.args[0], ast.Constant) and isinstance(sub.args[0].value, str):
                keys.add(sub.args[0].value)
        elif isinstance(sub, ast.Subscript) and is_recv(sub.value):
            if isinstance(sub.slice, ast.Constant) and isinstance(sub.slice.value, str):
                keys.add(sub.slice.value)
        elif isinstance(sub, ast.Compare) and len(sub.ops) == 1 and isinstance(sub.ops[0], (ast.In, ast.NotIn)):
            if isinstance(sub.left, ast.Constant) and isinstance(sub.left.value, str) and is_recv(sub.comparators[0]):
                keys.add(sub.left.value)
    return keys


def _ai_toolkit_model_files(repo: Path) -> list[str]:
    if _is_tree(repo):
        return sorted(
            p.relative_to(repo).as_posix()
            for folder in ("toolkit/models", "extensions_built_in/diffusion_models")
            for p in (repo / folder).rglob("*.py")
        )
    listing = subprocess.run(["git", "-C", str(repo), "ls-tree", "-r", "--name-only", AI_TOOLKIT_REV, "toolkit/models",
                              "extensions_built_in/diffusion_models"], check=True, capture_output=True, text=True).stdout
    return [p for p in listing.split() if p.endswith(".py")]


def ai_toolkit(repo: Path) -> dict:
    tree = ast.parse(show(repo, AI_TOOLKIT_REV, "toolkit/config_modules.py"))
    classes = {n.name: n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)}
    sections = {}
    for section, cls in AITK_CLASSES.items():
        sections[section] = sorted(_keys_read(classes[cls], {"kwargs"}))
    literals = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            v = node.value
            if isinstance(v, ast.Subscript) and getattr(v.value, "id", "") == "Literal":
                literals[node.targets[0].id] = list(literal(v.slice) or [])
    process_keys = set()
    for path in AITK_PROCESS_FILES:
        ptree = ast.parse(show(repo, AI_TOOLKIT_REV, path))
        for sub in ast.walk(ptree):
            if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and sub.func.attr == "get_conf":
                if sub.args and isinstance(sub.args[0], ast.Constant):
                    process_keys.add(sub.args[0].value)
        process_keys |= _keys_read(ptree, {"self.config"}, methods=("get",))
    job_tree = ast.parse(show(repo, AI_TOOLKIT_REV, "jobs/BaseJob.py"))
    job_keys = _keys_read(job_tree, {"config"})
    ext_tree = ast.parse(show(repo, AI_TOOLKIT_REV, "jobs/ExtensionJob.py"))
    config_keys = {"name", "process"} | {
        sub.args[0].value
        for sub in ast.walk(ext_tree)
        if isinstance(sub, ast.Call) and getattr(sub.func, "attr", "") == "get_conf" and sub.args
    }
    job_types = sorted(
        c.comparators[0].value
        for c in ast.walk(ast.parse(show(repo, AI_TOOLKIT_REV, "toolkit/job.py")))
        if isinstance(c, ast.Compare) and getattr(c.left, "id", "") == "job" and isinstance(c.comparators[0], ast.Constant)
    )
    uids = []
    for node in ast.walk(ast.parse(show(repo, AI_TOOLKIT_REV, "extensions_built_in/sd_trainer/__init__.py"))):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "uid":
            uids.append(literal(node.value))
    model_archs = set()  # model.arch values a model class claims (get_model_class); others fall back to StableDiffusion
    model_kwargs: dict[str, list[str]] = {}  # per arch: keys its class reads from model.model_kwargs
    for path in _ai_toolkit_model_files(repo):
        for node in ast.walk(ast.parse(show(repo, AI_TOOLKIT_REV, path))):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.Assign) and getattr(item.targets[0], "id", "") == "arch" and isinstance(literal(item.value), str):
                        model_archs.add(literal(item.value))
                        model_kwargs[literal(item.value)] = sorted(
                            _keys_read(node, {"self.model_config.model_kwargs", "model_config.model_kwargs"})
                        )
    optimizers = set()
    for c in ast.walk(ast.parse(show(repo, AI_TOOLKIT_REV, "toolkit/optimizer.py"))):
        if isinstance(c, ast.Compare) and ast.unparse(c.left) == "lower_type" and isinstance(c.comparators[0], ast.Constant):
            optimizers.add(c.comparators[0].value)
    prefixes = set()
    for c in ast.walk(ast.parse(show(repo, AI_TOOLKIT_REV, "toolkit/optimizer.py"))):
        if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute) and c.func.attr == "startswith":
            if ast.unparse(c.func.value) == "lower_type" and c.args and isinstance(c.args[0], ast.Constant):
                prefixes.add(c.args[0].value)
    return {
        "optimizers_prefix": sorted(prefixes),
        "source": f"ostris/ai-toolkit@{AI_TOOLKIT_REV}",
        "optimizers_exact": sorted(optimizers),
        "model_class_archs": sorted(model_archs),
        "model_kwargs_by_arch": {k: v for k, v in sorted(model_kwargs.items()) if v},
        "top_level": sorted(job_keys),
        "job_types": job_types,
        "config": sorted(config_keys),
        "process_types": sorted(uids),
        "process": sorted(process_keys | {"type"}),
        "sections": sections,
        "literals": {k: literals[k] for k in ("ModelArch", "NetworkType", "SaveFormat", "ImgExt") if k in literals},
    }


# --- diffusion-pipe: keys read from the main TOML, its tables, and the dataset TOML ------------------

# The [model] type → the module that reads its table (the families TrainPilot renders).
DP_MODEL_FILES = {"sdxl": "models/sdxl.py", "flux": "models/flux.py", "sd3": "models/sd3.py",
                  "wan": "models/wan/wan.py", "chroma": "models/chroma.py", "lumina_2": "models/lumina_2.py",
                  "hidream": "models/hidream.py", "hunyuan-video": "models/hunyuan_video.py", "ltx-video": "models/ltx_video.py",
                  "qwen_image": "models/qwen_image.py", "flux2": "models/flux2.py", "z_image": "models/z_image.py"}


def diffusion_pipe(repo: Path) -> dict:
    def keys(path, receivers, methods=("get", "setdefault", "pop")):
        return _keys_read(ast.parse(show(repo, DIFFUSION_PIPE_REV, path)), receivers, methods)

    top = keys("train.py", {"config"}) | keys("utils/saver.py", {"config", "self.config"})
    model = (keys("train.py", {"model_config"}) | keys("models/base.py", {"model_config", "self.model_config"})
             | keys("utils/common.py", {"model_config"}))  # get_t_distribution: timestep_sample_method
    per_model = {}
    block_swap = []  # model types whose pipeline overrides enable_block_swap (the base class raises NotImplementedError)
    for name, path in DP_MODEL_FILES.items():
        per_model[name] = sorted(keys(path, {"model_config", "self.model_config"}))
        tree = ast.parse(show(repo, DIFFUSION_PIPE_REV, path))
        if any(isinstance(n, ast.FunctionDef) and n.name == "enable_block_swap" for n in ast.walk(tree)):
            block_swap.append(name)
    # ComfyPipeline (flux2, z_image, ...): each [[model.text_encoders]] entry
    text_encoder_entry = keys("models/base.py", {"te_config"})
    adapter = keys("train.py", {"adapter_config"}) | keys("models/base.py", {"adapter_config"})
    optimizer = keys("train.py", {"optim_config"})
    dataset_tree = ast.parse(show(repo, DIFFUSION_PIPE_REV, "utils/dataset.py"))
    dataset = _keys_read(dataset_tree, {"dataset_config", "self.dataset_config", "config", "self.config"})
    directory = _keys_read(dataset_tree, {"directory_config", "self.directory_config"})
    model_types = set()
    for c in ast.walk(ast.parse(show(repo, DIFFUSION_PIPE_REV, "train.py"))):
        if isinstance(c, ast.Compare) and getattr(c.left, "id", "") == "model_type":
            for comp in c.comparators:
                if isinstance(comp, ast.Constant):
                    model_types.add(comp.value)
    optimizer_types = set()
    adapter_types = set()
    for c in ast.walk(ast.parse(show(repo, DIFFUSION_PIPE_REV, "train.py"))):
        if isinstance(c, ast.Compare) and isinstance(c.comparators[0], ast.Constant):
            left = ast.unparse(c.left)
            if left == "optim_type_lower":
                optimizer_types.add(c.comparators[0].value)
            elif left in ("adapter_type", "adapter_config['type']"):
                adapter_types.add(c.comparators[0].value)
    return {
        "source": f"tdrussell/diffusion-pipe@{DIFFUSION_PIPE_REV}",
        "optimizer_types": sorted(optimizer_types),
        "adapter_types": sorted(adapter_types),
        "optimizer_note": "every [optimizer] key but type/gradient_release is passed as a keyword to the optimizer class",
        "top_level": sorted(top),
        "model": sorted(model),
        "model_by_type": per_model,
        "block_swap_types": sorted(block_swap),
        "text_encoder_entry": sorted(text_encoder_entry),
        "adapter": sorted(adapter),
        "optimizer": sorted(optimizer),
        "dataset": sorted(dataset),
        "directory": sorted(directory),
        "model_types": sorted(model_types),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sd-scripts", type=Path, required=True)
    parser.add_argument("--ai-toolkit", type=Path, required=True)
    parser.add_argument("--diffusion-pipe", type=Path, required=True)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)

    funcs = kohya_functions(args.sd_scripts)
    scripts = {
        name: kohya_script_args(funcs, name)
        for name in ("train_network", "sdxl_train_network", "flux_train_network", "sd3_train_network")
    }
    kohya = {"source": f"kohya-ss/sd-scripts@{SD_SCRIPTS_REV}", "scripts": scripts,
             "optimizers": kohya_optimizers(args.sd_scripts)}
    (OUT / "kohya_args.json").write_text(json.dumps(kohya, indent=1, sort_keys=True) + "\n")
    schema = {"source": f"kohya-ss/sd-scripts@{SD_SCRIPTS_REV} library/config_util.py ConfigSanitizer",
              "tables": kohya_dataset_schema(args.sd_scripts)}
    (OUT / "kohya_dataset.json").write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
    (OUT / "ai_toolkit.json").write_text(json.dumps(ai_toolkit(args.ai_toolkit), indent=1, sort_keys=True) + "\n")
    (OUT / "diffusion_pipe.json").write_text(json.dumps(diffusion_pipe(args.diffusion_pipe), indent=1, sort_keys=True) + "\n")
    for f in sorted(OUT.glob("*.json")):
        print(f, f.stat().st_size)


if __name__ == "__main__":
    main()
