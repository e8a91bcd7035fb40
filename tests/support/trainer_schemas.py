"""Check rendered trainer configs against the keys each upstream trainer really reads.

The key sets are facts extracted from the pinned upstream sources by
``scripts/trainpilot_upstream_keys.py`` into ``tests/data/trainpilot/upstream/``.
"""

from __future__ import annotations

from .trainpilot import load_upstream


def _type_ok(value, type_name: str | None) -> bool:
    if type_name is None:
        return True
    if type_name == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name in ("float", "int_or_float"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if type_name in ("str", "Path"):
        return isinstance(value, str)
    return True


def kohya_run_problems(script: str, config: dict) -> list[str]:
    """sd-scripts flattens every table and uses values as-is: each key must be an argparse dest of the right type."""
    args = load_upstream("kohya_args.json")["scripts"][script.removesuffix(".py")]
    flat: dict = {}
    for section, values in config.items():
        flat.update(values if isinstance(values, dict) else {section: values})
    problems = []
    for key, value in flat.items():
        spec = args.get(key)
        if spec is None:
            problems.append(f"{key}: not an option of {script}")
            continue
        if spec.get("action") in ("store_true", "store_false"):
            if not isinstance(value, bool):
                problems.append(f"{key}: flag needs a bool, got {value!r}")
            continue
        if spec.get("nargs") in ("*", "+"):
            if not isinstance(value, list) or not all(_type_ok(v, spec.get("type")) for v in value):
                problems.append(f"{key}: expects a list of {spec.get('type')}, got {value!r}")
            continue
        if not _type_ok(value, spec.get("type")):
            problems.append(f"{key}: expects {spec.get('type')}, got {value!r}")
        if "choices" in spec and value not in spec["choices"]:
            problems.append(f"{key}: {value!r} not in {spec['choices']}")
    return problems


def _kohya_schema_type_ok(value, type_text: str) -> bool:
    if type_text == "bool":
        return isinstance(value, bool)
    if type_text == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_text == "float":
        return isinstance(value, float)
    if type_text == "str":
        return isinstance(value, str)
    if type_text.startswith("Any(float, int)"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if "twodim" in type_text:  # resolution: an int or [w, h]
        return isinstance(value, int) or (isinstance(value, list) and len(value) == 2)
    return True


def kohya_dataset_problems(config: dict) -> list[str]:
    """The dataset TOML against ConfigSanitizer's DreamBooth schemas (voluptuous rejects unknown keys)."""
    t = load_upstream("kohya_dataset.json")["tables"]
    subset_asc, db_asc, db_distinct = (
        t["SUBSET_ASCENDABLE_SCHEMA"],
        t["DB_SUBSET_ASCENDABLE_SCHEMA"],
        t["DB_SUBSET_DISTINCT_SCHEMA"],
    )
    dropout, dataset_asc = t["DO_SUBSET_ASCENDABLE_SCHEMA"], t["DATASET_ASCENDABLE_SCHEMA"]
    general = {**dataset_asc, **subset_asc, **db_asc, **dropout}
    dataset = {**general}
    subset = {**subset_asc, **db_distinct, **db_asc, **dropout}
    problems = []

    def check(where: str, values: dict, schema: dict, extra: tuple = ()) -> None:
        for key, value in values.items():
            if key in extra:
                continue
            if key not in schema:
                problems.append(f"{where}.{key}: unknown key")
            elif not _kohya_schema_type_ok(value, schema[key]["type"]):
                problems.append(f"{where}.{key}: {value!r} is not {schema[key]['type']}")
        for key, spec in schema.items():
            if spec["required"] and key not in values:
                problems.append(f"{where}.{key}: required")

    if set(config) - {"general", "datasets"}:
        problems.append(f"top level: unknown {sorted(set(config) - {'general', 'datasets'})}")
    check("general", config.get("general", {}), {k: {**v, "required": False} for k, v in general.items()})
    for i, ds in enumerate(config.get("datasets", [])):
        check(f"datasets[{i}]", ds, {k: {**v, "required": False} for k, v in dataset.items()}, extra=("subsets",))
        for j, sub in enumerate(ds.get("subsets", [])):
            check(f"datasets[{i}].subsets[{j}]", sub, subset)
    return problems


def ai_toolkit_problems(job: dict) -> list[str]:
    facts = load_upstream("ai_toolkit.json")
    problems = []
    unknown = set(job) - set(facts["top_level"])
    if unknown:
        problems.append(f"top level: {sorted(unknown)} not read")
    if job.get("job") not in facts["job_types"]:
        problems.append(f"job: {job.get('job')!r} not a job type")
    config = job.get("config", {})
    problems += [f"config.{k}: not read" for k in set(config) - set(facts["config"])]
    for i, proc in enumerate(config.get("process", [])):
        where = f"config.process[{i}]"
        if proc.get("type") not in facts["process_types"]:
            problems.append(f"{where}.type: {proc.get('type')!r} unknown")
        problems += [f"{where}.{k}: not read" for k in set(proc) - set(facts["process"])]
        for section in ("network", "train", "model", "save", "sample", "logging"):
            if section in proc:
                problems += [
                    f"{where}.{section}.{k}: not read" for k in set(proc[section]) - set(facts["sections"][section])
                ]
        for j, ds in enumerate(proc.get("datasets", [])):
            problems += [f"{where}.datasets[{j}].{k}: not read" for k in set(ds) - set(facts["sections"]["datasets[]"])]
        lit = facts["literals"]
        if proc.get("model", {}).get("arch") not in set(lit["ModelArch"]) | set(facts["model_class_archs"]):
            problems.append(
                f"{where}.model.arch: {proc.get('model', {}).get('arch')!r} neither a ModelArch nor a model class's arch"
            )
        if proc.get("network", {}).get("type", "lora") not in lit["NetworkType"]:
            problems.append(f"{where}.network.type: not a NetworkType")
        if proc.get("save", {}).get("save_format", "safetensors") not in lit["SaveFormat"]:
            problems.append(f"{where}.save.save_format: not a SaveFormat")
        model = proc.get("model", {})
        read = set(facts["model_kwargs_by_arch"].get(model.get("arch"), []))
        problems += [
            f"{where}.model.model_kwargs.{k}: not read by {model.get('arch')!r}"
            for k in set(model.get("model_kwargs", {})) - read
        ]
        opt = proc.get("train", {}).get("optimizer", "adamw").lower()
        if opt not in facts["optimizers_exact"] and not any(opt.startswith(p) for p in facts["optimizers_prefix"]):
            problems.append(f"{where}.train.optimizer: {opt!r} unknown to toolkit/optimizer.py")
    return problems


# Keyword arguments of the optimizer classes Diffusion Pipe builds from [optimizer] (torch/optimi AdamW,
# bitsandbytes-style AdamW8bitKahan, pytorch_optimizer Prodigy): the ones TrainPilot writes.
DP_OPTIMIZER_KWARGS = {"lr", "betas", "weight_decay", "eps"}
DP_PYTORCH_OPTIMIZER_CLASSES = {"Prodigy"}


def diffusion_pipe_problems(main: dict, dataset: dict) -> list[str]:
    facts = load_upstream("diffusion_pipe.json")
    problems = [f"{k}: not read from the main TOML" for k in set(main) - set(facts["top_level"])]
    for required in ("output_dir", "dataset", "epochs", "max_steps", "model"):
        if required not in main:
            problems.append(f"{required}: missing")
    if not any(k in main for k in ("save_every_n_epochs", "save_every_n_steps", "save_every_n_examples")):
        problems.append("save_every_n_*: train.py asserts one is set")
    model = main.get("model", {})
    if model.get("type") not in facts["model_types"]:
        problems.append(f"model.type: {model.get('type')!r} unknown")
    if main.get("blocks_to_swap") and model.get("type") not in facts["block_swap_types"]:
        problems.append(f"blocks_to_swap: {model.get('type')!r} has no enable_block_swap (NotImplementedError)")
    allowed = set(facts["model"]) | set(facts["model_by_type"].get(model.get("type"), [])) | {"type"}
    problems += [f"model.{k}: not read" for k in set(model) - allowed]
    for i, entry in enumerate(model.get("text_encoders", [])):
        problems += [f"model.text_encoders[{i}].{k}: not read" for k in set(entry) - set(facts["text_encoder_entry"])]
        if not ({"path", "paths"} & set(entry)) or "type" not in entry:
            problems.append(f"model.text_encoders[{i}]: needs path (or paths) and type")
    adapter = main.get("adapter", {})
    problems += [f"adapter.{k}: not read" for k in set(adapter) - set(facts["adapter"])]
    if adapter and adapter.get("type") not in facts["adapter_types"]:
        problems.append(f"adapter.type: {adapter.get('type')!r} unknown")
    opt = main.get("optimizer", {})
    problems += [
        f"optimizer.{k}: not an optimizer argument"
        for k in set(opt) - ({"type", "gradient_release"} | DP_OPTIMIZER_KWARGS)
    ]
    if (
        str(opt.get("type", "")).lower() not in facts["optimizer_types"]
        and opt.get("type") not in DP_PYTORCH_OPTIMIZER_CLASSES
    ):
        problems.append(f"optimizer.type: {opt.get('type')!r} unknown")
    problems += [f"dataset.{k}: not read" for k in set(dataset) - set(facts["dataset"])]
    for i, d in enumerate(dataset.get("directory", [])):
        problems += [f"dataset.directory[{i}].{k}: not read" for k in set(d) - set(facts["directory"])]
        if "path" not in d:
            problems.append(f"dataset.directory[{i}].path: missing")
    return problems
